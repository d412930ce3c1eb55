"""Health probe, production configuration, demo data, e-mail through the task queue, formats."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.test import Client
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from accounts.models import User

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The test process's own switches (browser async flag, service URLs) are not the subprocess's.
    dropped = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db
def test_healthz_reports_every_component_ok() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "tasks": "ok"}


def test_healthz_reports_a_broken_database_as_an_error() -> None:
    # A real unreachable PostgreSQL (nothing listens on port 1), in a separate process.
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps({'status_code': r.status_code, **r.json()}))"
    )
    result = run_python(
        code, DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL="postgres://postgres@127.0.0.1:1/none"
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["status_code"] == 503
    assert body["status"] == "error"
    assert body["database"].startswith("error: OperationalError")


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "x7#kQ9v!mZ2@pL5rT8wY1uE4oI6aS3dF0gH9jK2lZ5xC8vB7nM4qW1eR6tY3uI0pO",
        "ALLOWED_HOSTS": "thituyen.quangnam.gov.vn",
        "SITE_URL": "https://thituyen.quangnam.gov.vn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    code = (
        "import django; django.setup(); from django.core.management import CommandError, call_command;"
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in (result.stdout + result.stderr)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_python("import django; django.setup()", DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_mistyped_boolean_fails_loudly() -> None:
    result = run_python("import django; django.setup()", DJANGO_SETTINGS_MODULE="config.settings", DEBUG="flase")
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr


def snapshot() -> dict[str, object]:
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    from candidates.models import Application
    from exams.models import Attendance, Campaign, CandidateNumber, Organisation, Post
    from scoring.models import Mark, NormalisationRun, Resolution, Script

    return {
        "users": sorted(User.objects.values_list("email", "full_name", "is_superuser")),
        "groups": sorted(Group.objects.values_list("name", "user__email")),
        "authenticators": sorted(Authenticator.objects.values_list("user__email", "type")),
        "organisations": sorted(Organisation.objects.values_list("name", "kind", "parent__name")),
        "campaigns": sorted(Campaign.objects.values_list("title", "status", "announced_at")),
        "posts": sorted(Post.objects.values_list("title", "vacancies", "application_opens", "application_closes")),
        "applications": sorted(Application.objects.values_list("candidate__email", "post__title", "status")),
        "numbers": sorted(CandidateNumber.objects.values_list("number", "application__candidate__email")),
        "attendance": sorted(Attendance.objects.values_list("application__candidate__email", "status")),
        "scripts": sorted(Script.objects.values_list("code", "application__candidate__email")),
        "marks": sorted(
            Mark.objects.values_list("examiner__email", "application__candidate__email", "value", "status")
        ),
        "resolutions": sorted(Resolution.objects.values_list("application__candidate__email", "status", "value")),
        "runs": sorted(NormalisationRun.objects.values_list("campaign__title", "version", "status")),
    }


@pytest.mark.django_db
def test_seed_demo_twice_leaves_the_same_data() -> None:
    call_command("seed_demo", quiet_accounts=True, force=True)
    first = snapshot()
    call_command("seed_demo", quiet_accounts=True, force=True)
    assert snapshot() == first
    assert User.objects.filter(groups__name="Candidate").count() >= 30
    assert "Phó Giám đốc Sở Y tế" in [p[0] for p in first["posts"]]
    # Every stage of the life cycle is in the demo.
    assert all(first[name] for name in ("applications", "numbers", "attendance", "scripts", "marks", "runs"))
    assert {status for _email, status, _value in first["resolutions"]} >= {"final", "pending_chair", "pending_third"}


@pytest.mark.django_db
def test_demo_totp_prints_a_code_the_login_accepts(capsys, settings) -> None:
    settings.DEBUG = True
    from tests.conftest import totp_secret_of

    call_command("seed_demo", quiet_accounts=True, force=True)
    capsys.readouterr()
    call_command("demo_totp", "hr@demo.hientai.vn")
    code = capsys.readouterr().out.strip()
    from tests.conftest import totp_now

    hr = User.objects.get(email="hr@demo.hientai.vn")
    assert code == totp_now(totp_secret_of(hr))
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("demo_totp", "hr@demo.hientai.vn")


@pytest.mark.django_db(transaction=True)
def test_email_is_sent_through_the_database_task_queue(settings) -> None:
    settings.EMAIL_BACKEND = "accounts.mail.TaskEmailBackend"
    settings.MAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    mail.send_mail("Biên nhận hồ sơ", "Nội dung", None, ["an@example.vn"])
    assert mail.outbox == []  # nothing delivered inside the request
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("db_worker", batch=True, no_startup_delay=True, reload=False, verbosity=0)
    assert [m.subject for m in mail.outbox] == ["Biên nhận hồ sơ"]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_vietnamese_dates_and_decimals_use_day_first_and_a_comma() -> None:
    template = Template("{{ d|date:'SHORT_DATE_FORMAT' }} {{ x }}")
    context = Context({"d": datetime.date(2026, 3, 9), "x": Decimal("82.5")})
    with translation.override("vi"):
        assert template.render(context) == "09/03/2026 82,5"
    with translation.override("en"):
        assert template.render(context) == "09/03/2026 82.5"


@pytest.mark.django_db
def test_a_rolled_back_change_sends_no_email(settings) -> None:
    from django.db import transaction

    settings.EMAIL_BACKEND = "accounts.mail.TaskEmailBackend"
    with pytest.raises(RuntimeError), transaction.atomic():
        mail.send_mail("Không gửi", "Nội dung", None, ["an@example.vn"])
        assert DBTaskResult.objects.count() == 1  # queued in the same transaction as the change
        raise RuntimeError("the change fails")
    assert DBTaskResult.objects.count() == 0

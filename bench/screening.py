"""Benchmark: the screening queue and the public eligible list with 10,000 applications.

Prints the median server time (Django test client, no network) and the queries per request,
beside a floor: a bare view that renders 50 application rows from the same table.

    .venv/bin/python bench/screening.py            # scratch SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hientai_bench .venv/bin/python bench/screening.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp())

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.template import Context, Template  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

REPEATS = 30
FLOOR = Template(
    "<table>{% for a in rows %}<tr><td>{{ a.profile_snapshot.full_name }}</td><td>{{ a.submitted_at }}</td>"
    "<td>{{ a.get_status_display }}</td></tr>{% endfor %}</table>"
)


def floor_view(request: HttpRequest, post_id: int) -> HttpResponse:
    from candidates.models import Application

    rows = Application.objects.filter(post_id=post_id).order_by("-submitted_at")[:50]
    return HttpResponse(FLOOR.render(Context({"rows": rows})))


def measure(client: Client, url: str) -> tuple[float, int, int]:
    client.get(url)  # warm caches, templates and the connection
    timings = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(timings), len(queries), response.status_code


def main() -> None:
    from config import urls

    urls.urlpatterns.append(path("bench/floor/<int:post_id>/", floor_view))
    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)

    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group

    from accounts.models import User
    from exams.models import Campaign, Organisation, Post
    from tests.candidates.builders import bulk_submitted

    now = timezone.now()
    province = Organisation.objects.create(name="UBND tỉnh Quảng Nam", kind="province")
    department = Organisation.objects.create(name="Sở Y tế", kind="department", parent=province)
    campaign = Campaign.objects.create(title="Bench", authority=province, status="screening", announced_at=now)

    def post(title: str) -> Post:
        return Post.objects.create(
            campaign=campaign, organisation=department, title=title,
            application_opens=now - timezone.timedelta(days=30), application_closes=now - timezone.timedelta(days=1),
        )  # fmt: skip

    queue_post, list_post = post("Phó Giám đốc Sở Y tế"), post("Giám đốc Sở Y tế")
    started = time.perf_counter()
    bulk_submitted(queue_post, 10_000, prefix="queue")
    bulk_submitted(list_post, 10_000, eligible=True, prefix="listed")
    list_post.eligible_list_published_at = now
    list_post.save()
    print(f"database: {connection.vendor}; 20,000 applications created in {time.perf_counter() - started:.1f} s")

    hr = User.objects.create_user(email="hr@bench.vn", full_name="HR")
    hr.groups.add(Group.objects.get(name="HR officer"))
    TOTP.activate(hr, "JBSWY3DPEHPK3PXP")
    staff = Client()
    staff.force_login(hr)

    rows = [
        ("screening queue, page 1 (10,000 submitted)", staff, reverse("screening_queue", args=[queue_post.pk])),
        ("screening queue, page 60, filtered (failed)", staff,
         reverse("screening_queue", args=[queue_post.pk]) + "?auto=failed&page=60"),
        ("public eligible list (10,000 names)", Client(), reverse("eligible_list", args=[list_post.pk])),
        ("floor: bare view, 50 rows, same table", staff, f"/bench/floor/{queue_post.pk}/"),
    ]  # fmt: skip
    print(f"{'request':<48} {'median ms':>10} {'queries':>8} {'status':>7}")
    for label, client, url in rows:
        median, queries, status = measure(client, url)
        print(f"{label:<48} {median:>10.1f} {queries:>8} {status:>7}")
    print("target: under 300 ms each")


if __name__ == "__main__":
    main()

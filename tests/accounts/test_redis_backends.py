"""With REDIS_URL set, the cache and the task queue run on a real Redis (RQ)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_health_cache_and_email_task_run_on_redis_and_rq(tmp_path: Path) -> None:
    redis_url = require_service("REDIS_TEST_URL", "Redis")
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        REDIS_URL=redis_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MAIL_DELIVERY_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    assert run([sys.executable, "manage.py", "migrate", "-v0"], env).returncode == 0

    health = run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); from django.test import Client;"
            "r = Client().get('/healthz'); print(json.dumps({'code': r.status_code, **r.json()}))",
        ],
        env,
    )
    body = json.loads(health.stdout.strip().splitlines()[-1])
    assert body == {"code": 200, "status": "ok", "database": "ok", "cache": "ok", "tasks": "ok"}

    sent = run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.mail import send_mail;"
            "from django.conf import settings; assert 'RQ' in settings.TASKS['default']['BACKEND'];"
            "from django.core.cache import caches; assert 'Redis' in type(caches['default']).__name__;"
            "send_mail('Biên nhận', 'Nội dung', None, ['an@example.vn'])",
        ],
        env,
    )
    assert sent.returncode == 0, sent.stderr
    assert not (tmp_path / "mail").exists()  # queued in Redis, not delivered yet

    worker = run(
        [sys.executable, "manage.py", "rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job"], env
    )
    assert worker.returncode == 0, worker.stderr
    delivered = [p.read_text() for p in (tmp_path / "mail").iterdir()]
    assert len(delivered) == 1 and "an@example.vn" in delivered[0]

"""/healthz: what a load balancer or an operator needs to know, as JSON."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_tasks import default_task_backend


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is a health answer, not a crash
        return f"error: {type(exc).__name__}: {exc}".strip()
    return "ok"


def check_cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=10)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}: {exc}".strip()
    return "ok" if ok else "error: cache did not return the value just written"


def check_task_queue() -> str:
    backend = default_task_backend
    try:
        name = type(backend).__name__
        if name == "DatabaseBackend":
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.exists()
        elif name == "RQBackend":
            import django_rq

            django_rq.get_connection("default").ping()
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}: {exc}".strip()
    return "ok"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "cache": check_cache(), "tasks": check_task_queue()}
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)

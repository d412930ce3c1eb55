"""Background tasks that exist exactly when the change asking for them does."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend


def enqueue_with_change(task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueues `task` as part of the caller's transaction.

    The database queue shares the transaction: the task's row commits or rolls back with the change. Any
    other queue (RQ) is told only once the transaction commits, so a change rolled back leaves no task.
    """
    # get_backend(), not django_tasks.default_task_backend: that proxy is never an instance of the backend.
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs))

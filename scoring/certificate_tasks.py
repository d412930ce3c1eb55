"""Background generation of a version's certificates (django-tasks; run by ``manage.py db_worker``)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from scoring.certificates import run_batch


@task()
def generate_certificates(batch_id: int, shard: int = 0, shards: int = 1) -> dict[str, Any]:
    """Certifies every entry of the batch's version (in this shard: entry id mod shards) without one.

    Safe to run twice, concurrently, or after a worker was killed: see ``scoring.certificates``.
    """
    run = run_batch(batch_id, shard=shard, shards=shards)
    return {"batch": batch_id, "shard": shard, "created": run.created, "failed": run.failed, "left": run.remaining}

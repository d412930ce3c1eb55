"""Background work of the scoring app (django-tasks: the database queue by default, RQ to scale out)."""

from __future__ import annotations

from django_tasks import task

from scoring.fairness import run_normalisation


@task()
def compute_normalisation(run_id: int) -> str:
    """Computes a normalisation run. Safe to run twice or after a crash: a finished run is left
    alone, anything else is recomputed from scratch in one transaction."""
    return run_normalisation(run_id=run_id)

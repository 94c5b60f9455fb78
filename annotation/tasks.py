"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task

from annotation.services.assignment import assignments_release_expired
from annotation.services.imports import import_job_run
from annotation.services.jobs import job_running


@shared_task(name="annotation.tasks.assignments_release_expired", time_limit=120, ignore_result=True)
def assignments_release_expired_task(limit: int = 5000) -> int:
    """Periodic (beat): return abandoned reservations to the pool. Claims also do it lazily."""
    return assignments_release_expired(limit=limit)


@shared_task(acks_late=True, soft_time_limit=23 * 3600, time_limit=24 * 3600)
def import_images_task(job_id: int) -> None:
    """Run an import job (uploads or URLs). Idempotent: a redelivered job re-imports as duplicates."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        import_job_run(job=reporter.job, reporter=reporter)

"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task

from annotation.services.assignment import assignments_release_expired


@shared_task(name="annotation.tasks.assignments_release_expired", time_limit=120, ignore_result=True)
def assignments_release_expired_task(limit: int = 5000) -> int:
    """Periodic (beat): return abandoned reservations to the pool. Claims also do it lazily."""
    return assignments_release_expired(limit=limit)

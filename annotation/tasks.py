"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task

from annotation.models import ReliabilityRun
from annotation.services.jobs import job_running
from annotation.services.reliability import reliability_run_execute


@shared_task(name="annotation.tasks.reliability_run", time_limit=3600, acks_late=True, ignore_result=True)
def reliability_run_task(job_id: int, run_id: int) -> None:
    """Compute one reliability run; re-runnable after a killed worker (nothing is current
    until the results are written in one transaction)."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        run = ReliabilityRun.objects.select_related("project").get(pk=run_id)
        reliability_run_execute(run=run, progress=reporter.callback(0.0, 1.0))

"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task

from annotation.models import TrainingRun
from annotation.services.jobs import job_running
from annotation.services.training import training_run_execute


# The name starts with "training_" so CELERY_TASK_ROUTES sends it to the gpu queue. Training
# takes hours: a generous hard limit of its own; acks_late + reject-on-worker-lost (settings)
# redeliver it after a worker kill, and the service resumes from the last checkpoint.
@shared_task(name="annotation.tasks.training_run_execute", time_limit=48 * 3600, ignore_result=True)
def training_run_execute_task(job_id: int, run_id: int) -> None:
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        training_run_execute(run=TrainingRun.objects.get(pk=run_id), reporter=reporter)

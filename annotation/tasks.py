"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task

from annotation.models import ReliabilityRun, TrainingRun
from annotation.services.assignment import assignments_release_expired
from annotation.services.faces import faces_detect_run
from annotation.services.imports import import_job_run
from annotation.services.jobs import job_running, job_set_result, jobs_recover_stale
from annotation.services.reliability import reliability_run_execute
from annotation.services.training import training_run_discard_if_stopped, training_run_execute


@shared_task(name="annotation.tasks.assignments_release_expired", time_limit=120, ignore_result=True)
def assignments_release_expired_task(limit: int = 5000) -> int:
    """Periodic (beat): return abandoned reservations to the pool. Claims also do it lazily."""
    return assignments_release_expired(limit=limit)


@shared_task(name="annotation.tasks.jobs_recover_stale", time_limit=120, ignore_result=True)
def jobs_recover_stale_task() -> dict[str, int]:
    """Periodic (beat): send again, or fail clearly, the running jobs whose worker died."""
    return jobs_recover_stale()


@shared_task(name="annotation.tasks.live_reliability_update", time_limit=600, ignore_result=True)
def live_reliability_update_task() -> int:
    """Periodic (beat): live reliability, spammer flags and adaptive retirement of every project
    that is due (``live_reliability_update_due``). Safe to overlap: each update is idempotent."""
    from annotation.services.live_reliability import live_reliability_update_due

    return live_reliability_update_due()


@shared_task(acks_late=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def faces_detect_task(job_id: int) -> None:
    """Run a face-detection job. Idempotent: images that already have faces are skipped."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        job = reporter.job
        report = faces_detect_run(project=job.project, image_ids=job.params.get("image_ids", []), progress=reporter)
        job_set_result(job_id=job_id, result=report.as_result(), message=report.summary())


@shared_task(acks_late=True, soft_time_limit=23 * 3600, time_limit=24 * 3600)
def import_images_task(job_id: int) -> None:
    """Run an import job (uploads or URLs). Idempotent: a redelivered job re-imports as duplicates."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        import_job_run(job=reporter.job, reporter=reporter)


@shared_task(name="annotation.tasks.reliability_run", time_limit=3600, acks_late=True, ignore_result=True)
def reliability_run_task(job_id: int, run_id: int) -> None:
    """Compute one reliability run; re-runnable after a killed worker (nothing is current
    until the results are written in one transaction)."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        run = ReliabilityRun.objects.select_related("project").get(pk=run_id)
        reliability_run_execute(run=run, progress=reporter.callback(0.0, 1.0))


@shared_task(acks_late=True, soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def export_dataset(job_id: int, export_id: int) -> None:
    """Write a logged dataset export's zip into storage. Idempotent: a redelivery rewrites the same zip."""
    from annotation.models import DatasetExport
    from annotation.services.exports import dataset_export_build

    with job_running(job_id) as reporter:
        if reporter is None:
            return
        dataset_export_build(export=DatasetExport.objects.get(pk=export_id), progress=reporter.callback())


# The name starts with "training_" so CELERY_TASK_ROUTES sends it to the gpu queue. Training
# takes hours: a generous hard limit of its own; acks_late + reject-on-worker-lost (settings)
# redeliver it after a worker kill, and the service resumes from the last checkpoint.
@shared_task(name="annotation.tasks.training_run_execute", time_limit=48 * 3600, ignore_result=True)
def training_run_execute_task(job_id: int, run_id: int) -> None:
    """Train one run; a failed or cancelled run's checkpoint and work folder are then removed."""
    try:
        with job_running(job_id) as reporter:
            if reporter is None:
                return
            training_run_execute(run=TrainingRun.objects.get(pk=run_id), reporter=reporter)
    finally:
        training_run_discard_if_stopped(run_id=run_id)

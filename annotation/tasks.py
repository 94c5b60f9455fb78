"""Celery tasks: load by id, call a service. Each keeps its own time limit."""

from __future__ import annotations

from celery import shared_task


@shared_task(soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60)
def export_dataset(job_id: int, export_id: int) -> None:
    """Write a logged dataset export's zip into storage."""
    from annotation.models import DatasetExport
    from annotation.services.exports import dataset_export_build
    from annotation.services.jobs import job_running

    with job_running(job_id) as reporter:
        if reporter is None:
            return
        dataset_export_build(export=DatasetExport.objects.get(pk=export_id), progress=reporter.callback())

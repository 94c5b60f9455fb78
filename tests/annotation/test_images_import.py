"""A batch import stopped half-way (a cancelled job) keeps and reports what it did."""

from __future__ import annotations

import pytest

from annotation.models import Image, Job, JobStatus, Project
from annotation.services.import_sources import ImportItem
from annotation.services.imports import images_import, import_job_run
from annotation.services.jobs import JobCancelled, job_cancel, job_create, job_running
from annotation.signals import images_imported
from tests.annotation import image_samples as samples

pytestmark = pytest.mark.django_db


def test_it_keeps_and_announces_images_imported_before_a_stop(django_capture_on_commit_callbacks) -> None:
    project = Project.objects.create(name="stopped")
    items = [ImportItem(f"{i}.jpg", data=samples.jpeg(seed=40 + i)) for i in range(5)]
    received: list[int] = []

    def stop_after_two(fraction: float, message: str) -> None:
        if fraction >= 2 / 5:
            raise JobCancelled("stop")

    def receiver(sender, project, image_ids, created_by, **kwargs):
        received.extend(image_ids)

    images_imported.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(JobCancelled):
            images_import(project=project, items=items, total=5, progress=stop_after_two)
    finally:
        images_imported.disconnect(receiver)

    assert Image.objects.count() == 2 and sorted(received) == sorted(Image.objects.values_list("pk", flat=True))


def test_it_stores_the_partial_report_of_a_cancelled_job(tmp_path) -> None:
    project = Project.objects.create(name="cancelled")
    for i in range(3):
        (tmp_path / f"{i}.jpg").write_bytes(samples.jpeg(seed=50 + i))
    job = job_create(kind="import", project=project, params={"source": "path", "path": str(tmp_path), "keyword": ""})

    with job_running(job.pk) as reporter:
        reporter.min_interval_s = 0  # report (and notice the cancel) after every file
        job_cancel(job=job)
        import_job_run(job=job, reporter=reporter)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.result["interrupted"] is True and job.result["imported"] == 1
    assert Image.objects.count() == 1 and Job.objects.count() == 1

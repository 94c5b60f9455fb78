from __future__ import annotations

import pytest

from annotation.models import Job, JobStatus
from annotation.services.jobs import JobCancelled, job_cancel, job_create, job_running

pytestmark = pytest.mark.django_db


def test_it_records_success_and_progress() -> None:
    job = job_create(kind="demo")
    with job_running(job.id) as report:
        assert report is not None
        report(0.5, "half way", force=True)
        assert Job.objects.get(pk=job.id).progress == 0.5
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (JobStatus.SUCCEEDED, 1.0, "half way")
    assert job.started_at and job.finished_at


def test_it_records_a_failure_with_its_reason() -> None:
    job = job_create(kind="demo")
    with pytest.raises(ValueError), job_running(job.id):
        raise ValueError("bad input file")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "The job stopped on an error: Bad input file."
    assert "ValueError" in job.error


def test_it_stops_a_running_job_at_its_next_report_after_cancel() -> None:
    job = job_create(kind="demo")
    with job_running(job.id) as report:
        job_cancel(job=job)
        with pytest.raises(JobCancelled):
            report(0.2, force=True)
        raise JobCancelled  # what a task body does: let it propagate
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_it_does_not_run_a_job_cancelled_while_queued() -> None:
    job = job_create(kind="demo")
    job_cancel(job=job)
    with job_running(job.id) as report:
        assert report is None
    assert Job.objects.get(pk=job.id).status == JobStatus.CANCELLED


def test_it_does_not_run_a_finished_job_again() -> None:
    job = job_create(kind="demo")
    with job_running(job.id):
        pass
    with job_running(job.id) as report:
        assert report is None

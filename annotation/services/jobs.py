"""Jobs: every background task is a Job row that pages and the API poll.

A task body runs inside :func:`job_running`, which marks the job running, hands the body a
:class:`JobReporter` for progress (which also raises :class:`JobCancelled` once a cancel was
requested), and records success, failure or cancellation. Progress writes are single
``UPDATE`` statements in autocommit, so they are visible while the task's own work is still
inside its transaction.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from annotation.models import Job, JobStatus, Project


class JobCancelled(Exception):
    """Raised inside a task body when its job was cancelled."""


def job_create(
    *,
    kind: str,
    project: Project | None = None,
    created_by: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    return Job.objects.create(kind=kind, project=project, created_by=created_by, params=params or {})


def job_enqueue(*, job: Job, task: Any, args: tuple[Any, ...] = (), queue: str | None = None) -> Job:
    """Send ``task(job.id, *args)`` to the broker once the current transaction commits."""
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: task.apply_async(args=(job.id, *args), **options))
    return job


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next
    progress report."""
    Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now(), message="Cancelled"
    )
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


class JobReporter:
    """Progress reporting for a running job, throttled to one write per ``min_interval_s``."""

    def __init__(self, job: Job, *, min_interval_s: float = 0.5) -> None:
        self.job = job
        self.min_interval_s = min_interval_s
        self._last_write = 0.0

    def __call__(self, progress: float, message: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        progress = min(max(float(progress), 0.0), 1.0)
        fields: dict[str, Any] = {"progress": progress}
        if message:
            fields["message"] = message[:500]
        Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(**fields)
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled(f"job {self.job.pk} was cancelled")

    def callback(self, start: float = 0.0, end: float = 1.0) -> Callable[[float, str], None]:
        """A ``(fraction, message)`` callback mapping 0..1 onto ``start..end`` of this job."""
        return lambda fraction, message="": self(start + (end - start) * fraction, message)


@contextmanager
def job_running(job_id: int) -> Iterator[JobReporter | None]:
    """Run a task body for job ``job_id``; yields None when the job is not runnable.

    A job already finished, or cancelled while queued, is not run again (tasks are idempotent
    under redelivery). A job left ``running`` by a killed worker is picked up again.
    """
    claimed = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), error=""
    )
    if not claimed:
        yield None
        return
    job = Job.objects.get(pk=job_id)
    reporter = JobReporter(job)
    try:
        yield reporter
    except JobCancelled:
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now(), message="Cancelled"
        )
        return
    except Exception as exc:
        Job.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"[:20000],
            message=str(exc)[:500] or type(exc).__name__,
        )
        raise
    job.refresh_from_db()
    if job.status == JobStatus.RUNNING:
        Job.objects.filter(pk=job_id).update(status=JobStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now())


def job_set_result(*, job_id: int, result: dict[str, Any], message: str = "") -> None:
    fields: dict[str, Any] = {"result": result}
    if message:
        fields["message"] = message[:500]
    Job.objects.filter(pk=job_id).update(**fields)

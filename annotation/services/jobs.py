"""Jobs: every background task is a Job row that pages and the API poll.

A task body runs inside :func:`job_running`, which takes the job's **lease**, hands the body a
:class:`JobReporter` for progress (which also raises :class:`JobCancelled` once a cancel was
requested, and :class:`JobLeaseLost` once another worker owns the job), and records success,
failure or cancellation, but only while it still holds the lease. Progress writes are single
``UPDATE`` statements in autocommit, so they are visible while the task's own work is still
inside its transaction.

The lease is the single source of truth about who runs a job, whatever the broker does:

* taking it is one conditional ``UPDATE``: a queued job, or a running one whose lease is stale
  (no heartbeat for ``RAF_JOB_LEASE_S``) or whose owner process on this host is gone (a killed
  pool child: its redelivered message takes over at once);
* a thread of the worker heartbeats the job every ``RAF_JOB_HEARTBEAT_S`` while the body runs;
* a message for a job whose lease is live elsewhere (the broker's visibility timeout handing a
  long job to a second worker) is dropped, so no job ever runs twice at once;
* the beat task :func:`jobs_recover_stale` sends a running job whose heartbeat stopped (its whole
  worker was killed) again, up to ``RAF_JOB_MAX_ATTEMPTS`` runs, then fails it with a sentence
  that says so; :func:`job_cancel` ends at once a job whose worker is gone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Job, JobStatus, Project

logger = logging.getLogger(__name__)
_HOST = socket.gethostname()


class JobCancelled(Exception):
    """Raised inside a task body when its job was cancelled."""


class JobLeaseLost(Exception):
    """Raised inside a task body when its job is no longer this worker's (recovered elsewhere)."""


def _lease_s() -> float:
    return float(settings.RAF_JOB_LEASE_S)


def job_create(
    *,
    kind: str,
    project: Project | None = None,
    created_by: AbstractBaseUser | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    return Job.objects.create(kind=kind, project=project, created_by=created_by, params=params or {})


def job_enqueue(*, job: Job, task: Any, args: tuple[Any, ...] = (), queue: str | None = None) -> Job:
    """Send ``task(job.id, *args)`` to the broker once the current transaction commits; the job
    keeps what it takes to send it again."""
    Job.objects.filter(pk=job.pk).update(task_name=task.name, task_args=list(args), queue=queue or "")
    job.task_name, job.task_args, job.queue = task.name, list(args), queue or ""
    transaction.on_commit(lambda: _send(job))
    return job


def _send(job: Job) -> None:
    options = {"queue": job.queue} if job.queue else {}
    task = current_app.tasks.get(job.task_name)
    if task is not None:
        task.apply_async(args=(job.pk, *job.task_args), **options)
    else:
        current_app.send_task(job.task_name, args=(job.pk, *job.task_args), **options)


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job, or a running one whose worker is gone, is cancelled at
    once; a running one stops at its next progress report (within a second or so)."""
    now = timezone.now()
    ended = dict(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, lease_owner="")
    Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(**ended, message="Cancelled")
    Job.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=_lease_s())
    ).update(**ended, message="Cancelled (its worker had stopped)")
    Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def jobs_recover_stale(*, project: Project | None = None, now: datetime | None = None) -> dict[str, int]:
    """Settle running jobs whose heartbeat stopped: send them again while they have attempts
    left (``RAF_JOB_MAX_ATTEMPTS``), otherwise fail them with a clear message. Returns the counts."""
    now = now or timezone.now()
    stale = Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=_lease_s()))
    if project is not None:
        stale = stale.filter(project=project)
    counts = {"requeued": 0, "failed": 0, "cancelled": 0}
    for job in stale.order_by("pk")[:500]:
        if job.cancel_requested:
            done = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_owner=job.lease_owner).update(
                status=JobStatus.CANCELLED,
                lease_owner="",
                finished_at=now,
                message="Cancelled (its worker had stopped)",
            )
            counts["cancelled"] += done
            continue
        if job.task_name and job.attempts < settings.RAF_JOB_MAX_ATTEMPTS:
            with transaction.atomic():
                moved = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_owner=job.lease_owner).update(
                    status=JobStatus.QUEUED,
                    lease_owner="",
                    message=f"Its worker stopped; queued again (attempt {job.attempts + 1} of "
                    f"{settings.RAF_JOB_MAX_ATTEMPTS}).",
                )
                if moved:
                    transaction.on_commit(lambda job=job: _send(job))
            counts["requeued"] += moved
            logger.warning("job %s (%s) lost its worker; queued again", job.pk, job.kind)
        else:
            why = (
                f"The worker running this job stopped {job.attempts} times; it was not started again. "
                "Start it again once the workers are healthy."
                if job.task_name
                else "The worker running this job stopped, and the job cannot be sent again."
            )
            counts["failed"] += Job.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, lease_owner=job.lease_owner
            ).update(status=JobStatus.FAILED, lease_owner="", finished_at=now, message=why[:500], error=why)
            logger.warning("job %s (%s) lost its worker and failed: %s", job.pk, job.kind, why)
    return counts


class JobReporter:
    """Progress reporting for a running job, throttled to one write per ``min_interval_s``.
    Each write renews the lease; it raises :class:`JobCancelled` once a cancel was requested
    and :class:`JobLeaseLost` once the job is no longer this worker's."""

    def __init__(self, job: Job, *, owner: str = "", min_interval_s: float = 0.5) -> None:
        self.job = job
        self.owner = owner or job.lease_owner
        self.min_interval_s = min_interval_s
        self._last_write = 0.0

    def __call__(self, progress: float, message: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        progress = min(max(float(progress), 0.0), 1.0)
        fields: dict[str, Any] = {"progress": progress, "heartbeat_at": timezone.now()}
        if message:
            fields["message"] = message[:500]
        mine = Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING, lease_owner=self.owner)
        if not mine.update(**fields):
            if Job.objects.filter(pk=self.job.pk, status=JobStatus.CANCELLED).exists():
                raise JobCancelled(f"job {self.job.pk} was cancelled")
            raise JobLeaseLost(f"job {self.job.pk} is no longer this worker's")
        if mine.filter(cancel_requested=True).exists():
            raise JobCancelled(f"job {self.job.pk} was cancelled")

    def callback(self, start: float = 0.0, end: float = 1.0) -> Callable[[float, str], None]:
        """A ``(fraction, message)`` callback mapping 0..1 onto ``start..end`` of this job."""
        return lambda fraction, message="": self(start + (end - start) * fraction, message)


class _Heartbeat(threading.Thread):
    """Renews the lease every ``RAF_JOB_HEARTBEAT_S`` while the task body runs (a body may go
    minutes between progress reports, e.g. inside one EM iteration)."""

    def __init__(self, job_id: int, owner: str) -> None:
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id, self.owner = job_id, owner
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(float(settings.RAF_JOB_HEARTBEAT_S)):
                try:
                    alive = Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING, lease_owner=self.owner).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a database hiccup: try again at the next beat
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    connection.close()
                    continue
                if not alive:
                    return
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


def _owner_gone(owner: str) -> bool:
    """Whether the lease ``owner`` ("host:pid:token") was a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _take_lease(job_id: int, owner: str) -> bool:
    now = timezone.now()
    job = Job.objects.filter(pk=job_id).only("status", "lease_owner", "heartbeat_at", "attempts").first()
    if job is None or job.status not in Job.ACTIVE:
        return False
    runnable = Q(status=JobStatus.QUEUED)
    if job.status == JobStatus.RUNNING:
        stale = job.heartbeat_at is None or job.heartbeat_at < now - timedelta(seconds=_lease_s())
        if not (stale or _owner_gone(job.lease_owner)):
            logger.info("job %s runs elsewhere under a live lease (%s): message dropped", job_id, job.lease_owner)
            return False
        if job.attempts >= settings.RAF_JOB_MAX_ATTEMPTS:
            # Its worker died on every attempt: settle it rather than run it once more.
            Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, lease_owner=job.lease_owner).update(
                status=JobStatus.FAILED,
                lease_owner="",
                finished_at=now,
                message=f"The worker running this job stopped {job.attempts} times; it was not started again.",
            )
            return False
        runnable = Q(status=JobStatus.RUNNING, lease_owner=job.lease_owner)
    return bool(
        Job.objects.filter(runnable, pk=job_id).update(
            status=JobStatus.RUNNING,
            lease_owner=owner,
            heartbeat_at=now,
            started_at=now,
            error="",
            attempts=F("attempts") + 1,
        )
    )


@contextmanager
def job_running(job_id: int) -> Iterator[JobReporter | None]:
    """Run a task body for job ``job_id`` under its lease; yields None when the job is not
    this worker's to run (finished, cancelled while queued, or running elsewhere under a live
    lease): the message is then dropped."""
    owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not _take_lease(job_id, owner):
        yield None
        return
    job = Job.objects.get(pk=job_id)
    reporter = JobReporter(job, owner=owner)
    heartbeat = _Heartbeat(job_id, owner)
    heartbeat.start()
    mine = Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, lease_owner=owner)
    try:
        yield reporter
    except JobCancelled:
        Job.objects.filter(pk=job_id, lease_owner=owner).update(
            status=JobStatus.CANCELLED, lease_owner="", finished_at=timezone.now(), message="Cancelled"
        )
        return
    except JobLeaseLost:
        logger.warning("job %s: lease lost, its result is left to the new owner", job_id)
        return
    except Exception as exc:
        mine.update(
            status=JobStatus.FAILED,
            lease_owner="",
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"[:20000],
            message=job_failure_sentence(exc)[:500],
        )
        raise
    finally:
        heartbeat.stop()
    mine.update(status=JobStatus.SUCCEEDED, lease_owner="", progress=1.0, finished_at=timezone.now())


def job_failure_sentence(exc: BaseException) -> str:
    """What a page shows for a failed job: a service's own sentence, or a sentence around a
    library's message (the traceback stays in ``Job.error``)."""
    if isinstance(exc, ServiceError):
        return exc.message
    text = str(exc).strip().rstrip(".")
    if not text:
        return f"The job stopped on an unexpected error ({type(exc).__name__}); the details are in the job's error log."
    return f"The job stopped on an error: {text[0].upper()}{text[1:]}."


def job_set_result(*, job_id: int, result: dict[str, Any], message: str = "") -> None:
    fields: dict[str, Any] = {"result": result}
    if message:
        fields["message"] = message[:500]
    Job.objects.filter(pk=job_id).update(**fields)

"""Job leases with real Celery workers on the real broker: a job survives kill -9 of its whole
worker, a redelivered message for a running job is not run twice, a killed pool child's job is
taken over at once; and the lease rules themselves (no worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Job, JobStatus
from annotation.services.jobs import job_cancel, job_create, job_enqueue, job_running, jobs_recover_stale
from tests.job_tasks import slow_job

REPO_ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 3


def _worker_env() -> dict[str, str]:
    """The test process' environment, pointed at the test database, with short leases."""
    url = urlparse(os.environ["DATABASE_URL"])._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=url,
        RAF_JOB_LEASE_S=str(LEASE_S),
        RAF_JOB_HEARTBEAT_S="1",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


class Worker:
    """``celery worker`` in a process group of its own, consuming one queue (prefork pool)."""

    def __init__(self, queue: str, tmp_path: Path, name: str, concurrency: int = 1) -> None:
        self.log = tmp_path / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "-I", "tests.job_tasks", "-Q", queue,
            "-c", str(concurrency), "--pool", "prefork", "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "-l", "INFO",
        ]  # fmt: skip
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=_worker_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def pool_children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill_all(self) -> None:
        """kill -9 of the main process and every pool child at once."""
        victims = [psutil.Process(self.process.pid), *self.pool_children()]
        for victim in victims:
            victim.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def queue(settings) -> str:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.RAF_JOB_LEASE_S = LEASE_S
    # A queue of our own, so that messages other tests left in the broker are not consumed here.
    return f"test-lease-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workers(queue, tmp_path):
    started: list[Worker] = []

    def start(name: str, concurrency: int = 1) -> Worker:
        worker = Worker(queue, tmp_path, name, concurrency)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _wait(predicate, *, timeout: float, what: str, poll=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if poll:
            poll()
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _status(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def _running_with_progress(job: Job) -> bool:
    job.refresh_from_db()
    return job.status == JobStatus.RUNNING and job.progress > 0


@pytest.mark.django_db(transaction=True)
def test_a_job_survives_kill_9_of_its_whole_worker(queue, workers, tmp_path):
    runs = tmp_path / "runs.log"
    job = job_create(kind="slow")
    job_enqueue(job=job, task=slow_job, args=(4.0, str(runs)), queue=queue)
    first = workers("first")
    _wait(lambda: _running_with_progress(job), timeout=60, what="the first worker to start the job")

    first.kill_all()
    started = time.monotonic()
    workers("second")
    # The beat's recovery task, run here every 0.2 s: the job is sent again once its lease is stale.
    _wait(lambda: _status(job) == JobStatus.SUCCEEDED, timeout=120, what="the job to finish", poll=jobs_recover_stale)

    assert time.monotonic() - started < 120
    assert job.attempts == 2 and job.lease_owner == "" and job.progress == 1.0
    assert len(runs.read_text().split()) == 2  # killed once, then run to the end


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_message_of_a_running_job_is_dropped(queue, workers, tmp_path):
    runs = tmp_path / "runs.log"
    job = job_create(kind="slow")
    job_enqueue(job=job, task=slow_job, args=(3.0, str(runs)), queue=queue)
    workers("busy", concurrency=2)
    _wait(lambda: _running_with_progress(job), timeout=60, what="the worker to start the job")

    # What the broker does when a long job outlives its visibility timeout: the same message again.
    slow_job.apply_async(args=(job.pk, 3.0, str(runs)), queue=queue)
    _wait(lambda: _status(job) == JobStatus.SUCCEEDED, timeout=60, what="the job to finish")
    time.sleep(1)  # the second message has long been taken by the free pool process

    assert runs.read_text().split().__len__() == 1
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_killed_pool_child_is_taken_over_at_once(queue, workers, tmp_path):
    runs = tmp_path / "runs.log"
    job = job_create(kind="slow")
    job_enqueue(job=job, task=slow_job, args=(3.0, str(runs)), queue=queue)
    worker = workers("parent")
    _wait(lambda: _running_with_progress(job), timeout=60, what="the worker to start the job")

    [child] = worker.pool_children()
    child.send_signal(signal.SIGKILL)
    # No recovery task runs here: the redelivered message finds its owner process gone.
    _wait(lambda: _status(job) == JobStatus.SUCCEEDED, timeout=60, what="the job to finish")
    assert job.attempts == 2 and len(runs.read_text().split()) == 2


# --- The lease rules, without a worker --------------------------------------------------------


def _stale(job: Job, *, attempts: int = 1, task: bool = True) -> Job:
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        lease_owner="elsewhere:1:gone",
        heartbeat_at=timezone.now() - timedelta(seconds=LEASE_S + 5),
        attempts=attempts,
        task_name="tests.job_tasks.slow_job" if task else "",
        task_args=[0.1, "/dev/null"],
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_recovery_requeues_a_stale_job_then_fails_it_after_the_last_attempt(
    settings, django_capture_on_commit_callbacks
):
    settings.RAF_JOB_LEASE_S, settings.RAF_JOB_MAX_ATTEMPTS = LEASE_S, 2
    job = _stale(job_create(kind="slow"), attempts=1)
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert jobs_recover_stale() == {"requeued": 1, "failed": 0, "cancelled": 0}
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.lease_owner == "" and len(sent) == 1
    assert "queued again (attempt 2 of 2)" in job.message

    _stale(job, attempts=2)
    assert jobs_recover_stale() == {"requeued": 0, "failed": 1, "cancelled": 0}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert job.message.startswith("The worker running this job stopped 2 times")


@pytest.mark.django_db
def test_recovery_leaves_live_leases_alone(settings):
    settings.RAF_JOB_LEASE_S = LEASE_S
    job = job_create(kind="slow")
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, lease_owner="elsewhere:1:live", heartbeat_at=timezone.now(), task_name="x"
    )
    assert jobs_recover_stale() == {"requeued": 0, "failed": 0, "cancelled": 0}
    with job_running(job.pk) as reporter:
        assert reporter is None  # a message for it is dropped
    assert _status(job) == JobStatus.RUNNING


@pytest.mark.django_db
def test_cancel_ends_a_job_whose_worker_is_gone_at_once(settings):
    settings.RAF_JOB_LEASE_S = LEASE_S
    job = _stale(job_create(kind="slow"))
    job = job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED and job.lease_owner == "" and job.finished_at is not None


@pytest.mark.django_db
def test_a_job_body_that_lost_its_lease_stops_at_its_next_report(settings):
    job = job_create(kind="slow")
    Job.objects.filter(pk=job.pk).update(task_name="x")
    finished = False
    with job_running(job.pk) as reporter:
        assert reporter is not None
        Job.objects.filter(pk=job.pk).update(lease_owner="another:2:owner")  # recovered elsewhere
        reporter(0.5, "half", force=True)
        finished = True
    assert not finished
    assert _status(job) == JobStatus.RUNNING and job.lease_owner == "another:2:owner"


def test_the_beat_runs_the_recovery():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["jobs-recover-stale"]["task"] == "annotation.tasks.jobs_recover_stale"

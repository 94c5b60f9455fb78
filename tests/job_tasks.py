"""A slow job for the lease tests' real Celery workers (``celery worker -I tests.job_tasks``)."""

from __future__ import annotations

import os
import time

from celery import shared_task

from annotation.services.jobs import job_running


@shared_task(name="tests.job_tasks.slow_job", acks_late=True, ignore_result=True)
def slow_job(job_id: int, seconds: float, log_path: str) -> None:
    """Runs ``seconds`` in 0.1 s steps under the job's lease; each start of the body appends the
    worker process id to ``log_path`` (so a test can count how often the body ran)."""
    with job_running(job_id) as reporter:
        if reporter is None:
            return
        with open(log_path, "a") as log:
            log.write(f"{os.getpid()}\n")
        steps = max(1, int(seconds * 10))
        for step in range(steps):
            time.sleep(0.1)
            reporter(step / steps, f"step {step + 1} of {steps}")

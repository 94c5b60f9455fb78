"""The Celery app: the embedded Redis without REDIS_URL, the Redis broker with REDIS_URL, and a
real worker against real Redis running an import job end to end."""

from __future__ import annotations

import importlib
import time
import uuid

import pytest
from celery import Celery

import config.settings.jobs as jobs_settings
from annotation.models import Image, Job, JobStatus, Project
from annotation.services.jobs import job_create, job_enqueue
from tests.annotation import image_samples as samples


def celery_for_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Celery:
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = importlib.reload(jobs_settings)
    app = Celery("raf-test", set_as_current=False)
    app.config_from_object(module, namespace="CELERY")
    return app


@pytest.fixture(autouse=True)
def _restore_jobs_settings():
    yield
    importlib.reload(jobs_settings)


def test_it_starts_an_embedded_broker_without_redis_url(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No job runs in-process: without REDIS_URL (outside production) the broker is the
    embedded Redis of config.embedded, started on demand."""
    import redis

    from config import embedded

    monkeypatch.setenv("RAF_EMBEDDED_DIR", str(tmp_path))
    try:
        app = celery_for_env(monkeypatch)
        assert app.conf.task_always_eager is False
        assert app.conf.broker_url == (tmp_path / "redis.url").read_text().strip()
        assert redis.Redis.from_url(app.conf.broker_url).ping()
    finally:
        monkeypatch.undo()
        importlib.reload(jobs_settings)
        embedded.stop(tmp_path)


def test_it_uses_the_redis_broker_when_redis_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    app = celery_for_env(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/9")
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url == "redis://127.0.0.1:6379/9"
    assert app.conf.task_default_queue == "default"
    assert app.conf.task_routes["annotation.tasks.training_*"] == {"queue": "gpu"}
    assert app.conf.task_acks_late is True and app.conf.worker_prefetch_multiplier == 1


@pytest.mark.django_db(transaction=True)
def test_it_runs_an_import_job_on_a_real_worker(settings, tmp_path) -> None:
    from celery.contrib.testing.worker import start_worker

    from annotation.tasks import import_images_task
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    # A queue of our own, so that messages other tests left in the broker are not consumed here.
    queue = f"test-import-{uuid.uuid4().hex[:8]}"
    project = Project.objects.create(name="worker import")
    job = job_create(kind="import", project=project, params={"source": "path", "path": str(tmp_path), "keyword": ""})
    (tmp_path / "a.jpg").write_bytes(samples.jpeg(seed=31))
    (tmp_path / "b.txt").write_text("not an image")

    with start_worker(app, pool="solo", queues=[queue], perform_ping_check=False, shutdown_timeout=10):
        job_enqueue(job=job, task=import_images_task, queue=queue)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status not in Job.ACTIVE:
                break
            time.sleep(0.1)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["imported"], job.result["rejected"]) == (1, 1)
    assert Image.objects.filter(project=project).count() == 1

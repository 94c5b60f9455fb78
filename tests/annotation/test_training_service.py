from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from annotation.errors import ServiceError
from annotation.models import Face, Image, ImageReliability, Job, JobStatus, Project, ReliabilityRun, TrainingRun
from annotation.services.jobs import JobReporter
from annotation.services.training import training_run_execute, training_run_start
from reliability.classes import BASIC_EMOTIONS
from tests.factories import RUNNING_LEASE

TINY_CONFIG = {
    "iters": 6, "batch_size": 8, "channels": [4, 4, 8, 8, 8, 8], "feature_dim": 16, "log_every": 2,
    "checkpoint_every": 2, "eval_every": 0, "k": 3, "threads": 1,
}  # fmt: skip


def png(array: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", array)
    assert ok
    return encoded.tobytes()


def user_with(role: str, name: str) -> User:
    user = User.objects.create_user(name, password="x")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def project_with_labels(settings, tmp_path) -> Project:
    """A project with 28 faces (4 per class, 3 train + 1 test) in a current reliability run."""
    settings.TRAINING_WORK_DIR = tmp_path / "work"
    project = Project.objects.create(name="expressions")
    run = ReliabilityRun.objects.create(project=project, succeeded=True, is_current=True)
    rng = np.random.default_rng(0)
    for index in range(28):
        label = index % 7
        grey = rng.integers(0, 256, (100, 100), dtype=np.uint8)
        grey[10 * label : 10 * label + 15] = 255
        data = png(grey)
        image = Image.objects.create(
            project=project, file=ContentFile(data, name=f"{index}.png"), sha256=f"{index:064d}",
            size_bytes=len(data), width=100, height=100, votes_wanted=10, status="ready",
        )  # fmt: skip
        face = Face(image=image, is_main=True, x1=0, y1=0, x2=100, y2=100)
        face.aligned_grey.save(f"{index}_grey.png", ContentFile(data), save=False)
        face.save()
        distribution = [0.0] * 7
        distribution[label] = 1.0
        ImageReliability.objects.create(
            run=run, image=image, label=label, distribution=distribution, counts=[0] * 7, subset="basic",
            subset_label=BASIC_EMOTIONS[label], split="test" if index >= 21 else "train",
        )  # fmt: skip
    return project


@pytest.mark.django_db
def test_it_trains_evaluates_exports_and_serves_a_model(
    project_with_labels: Project, settings, django_capture_on_commit_callbacks
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    project = project_with_labels
    researcher, admin = user_with("researcher", "rita"), user_with("admin", "ada")
    client = APIClient()
    client.force_authenticate(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{project.pk}/training-runs", {"config": TINY_CONFIG, "subset": "basic"}, format="json"
        )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    detail = client.get(f"/api/v1/training-runs/{run_id}").json()
    assert detail["job"]["status"] == "succeeded", detail["job"]
    assert detail["metrics"]["iterations"] == 6 and "basic_svm_mean_diagonal" in detail["metrics"]
    assert {"model", "onnx", "torchscript", "eval", "manifest", "model_card", "plot_curves"} <= set(detail["artefacts"])
    assert "checkpoint" not in detail["artefacts"]  # only kept while a run may resume
    listed = client.get(f"/api/v1/training-runs?project={project.pk}").json()["results"]
    assert [r["id"] for r in listed] == [run_id]
    download = client.get(f"/api/v1/training-runs/{run_id}/artefacts/manifest")
    manifest = b"".join(download.streaming_content).decode()
    assert manifest.splitlines()[0].startswith("path,label,split,p_surprise") and len(manifest.splitlines()) == 29

    # Researchers may not choose the served model; admins may.
    assert client.post(f"/api/v1/training-runs/{run_id}/make-current").status_code == 403
    admin_client = APIClient()
    admin_client.force_authenticate(admin)
    assert admin_client.post(f"/api/v1/training-runs/{run_id}/make-current").json()["is_current"] is True
    face = io.BytesIO(png(np.full((100, 100), 90, np.uint8)))
    face.name = "face.png"
    predicted = client.post("/api/v1/predict", {"project": project.pk, "image": face, "aligned": "true"})
    assert predicted.status_code == 200, predicted.content
    probabilities = predicted.json()["faces"][0]["probabilities"]
    assert list(probabilities) == list(BASIC_EMOTIONS) and abs(sum(probabilities.values()) - 1) < 1e-4
    bad = client.post("/api/v1/predict", {"project": project.pk, "image": io.BytesIO(b"not an image")})
    assert bad.status_code == 400


class KilledWorker(Exception):
    pass


class KillingReporter(JobReporter):
    """Kills the "worker" once training passed iteration 4 (after its checkpoint at 4)."""

    def __call__(self, progress: float, message: str = "", *, force: bool = False) -> None:
        super().__call__(progress, message, force=True)
        if message.startswith("iteration 5 of") or message.startswith("iteration 6 of"):
            raise KilledWorker


@pytest.mark.django_db
def test_it_resumes_from_the_last_checkpoint_after_a_worker_kill(project_with_labels: Project) -> None:
    config = {**TINY_CONFIG, "log_every": 1, "checkpoint_every": 4}
    run = training_run_start(project=project_with_labels, config=config, created_by=None)
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.RUNNING, **RUNNING_LEASE)
    with pytest.raises(KilledWorker):
        training_run_execute(run=run, reporter=KillingReporter(run.job, owner=RUNNING_LEASE["lease_owner"]))
    run.refresh_from_db()
    assert "checkpoint" in run.artefacts  # stored, so another machine could resume too
    messages: list[str] = []

    class Recording(JobReporter):
        def __call__(self, progress: float, message: str = "", *, force: bool = False) -> None:
            messages.append(message)

    training_run_execute(run=TrainingRun.objects.get(pk=run.pk), reporter=Recording(run.job))
    iterations = [m for m in messages if m.startswith("iteration")]
    assert iterations[0].startswith("iteration 5 of 6") and "left" in iterations[0]
    # Between the export and the first figures the stage reads "Training", not "Exporting".
    assert messages.index("Training (6 iterations); progress every 1 iteration") < messages.index(iterations[0])
    assert TrainingRun.objects.get(pk=run.pk).metrics["iterations"] == 6


@pytest.mark.django_db
def test_it_refuses_a_project_without_a_current_reliability_run_and_a_bad_config(project_with_labels) -> None:
    with pytest.raises(ServiceError) as error:
        training_run_start(project=project_with_labels, config={"loss": "hinge"}, created_by=None)
    assert error.value.code == "invalid_config"
    with pytest.raises(ServiceError) as error:
        training_run_start(project=project_with_labels, config={"out": "/etc"}, created_by=None)
    assert error.value.code == "invalid_config"
    other = Project.objects.create(name="empty")
    with pytest.raises(ServiceError) as error:
        training_run_start(project=other, config={}, created_by=None)
    assert error.value.code == "no_reliability_run"
    assert not TrainingRun.objects.exists() and not Job.objects.exists()


@pytest.mark.django_db
def test_it_cancels_a_queued_run(project_with_labels: Project) -> None:
    run = training_run_start(project=project_with_labels, config=TINY_CONFIG, created_by=None)
    client = APIClient()
    client.force_authenticate(user_with("researcher", "rex"))
    response = client.post(f"/api/v1/training-runs/{run.pk}/cancel")
    assert response.json()["job"]["status"] == "cancelled"
    assert client.post(f"/api/v1/training-runs/{run.pk}/cancel").status_code == 409


@pytest.mark.django_db
def test_it_refuses_with_a_sentence_a_subset_of_one_class(project_with_labels: Project) -> None:
    ImageReliability.objects.filter(label__gt=0).update(split="")
    with pytest.raises(ServiceError) as error:
        training_run_start(project=project_with_labels, config=TINY_CONFIG, created_by=None)
    assert error.value.code == "one_class" and "at least two" in error.value.message
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_it_refuses_with_a_sentence_a_subset_of_too_few_images(project_with_labels: Project) -> None:
    ImageReliability.objects.filter(label__gt=1).update(split="")
    with pytest.raises(ServiceError) as error:
        training_run_start(project=project_with_labels, config=TINY_CONFIG, created_by=None)
    assert error.value.code == "too_few_images" and "at least 10" in error.value.message


@pytest.mark.django_db
def test_it_removes_a_cancelled_runs_checkpoint_and_work_folder(project_with_labels: Project) -> None:
    from annotation.services.training import training_run_discard_if_stopped, work_dir

    config = {**TINY_CONFIG, "log_every": 1, "checkpoint_every": 2}
    run = training_run_start(project=project_with_labels, config=config, created_by=None)
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.RUNNING, **RUNNING_LEASE)
    with pytest.raises(KilledWorker):
        training_run_execute(run=run, reporter=KillingReporter(run.job, owner=RUNNING_LEASE["lease_owner"]))
    run.refresh_from_db()
    assert "checkpoint" in run.artefacts and work_dir(run).exists()
    assert not training_run_discard_if_stopped(run_id=run.pk)  # still running: it may resume
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.CANCELLED, lease_owner="")

    assert training_run_discard_if_stopped(run_id=run.pk)

    run.refresh_from_db()
    assert "checkpoint" not in run.artefacts and not work_dir(run).exists()


@pytest.mark.django_db
def test_it_stops_a_cpu_run_at_the_next_iteration_after_cancel(project_with_labels: Project) -> None:
    from annotation.services.jobs import JobCancelled, job_cancel
    from annotation.services.training import SMALL_CPU_TRAINING_CONFIG

    config = {**SMALL_CPU_TRAINING_CONFIG, "iters": 40, "batch_size": 8, "threads": 1}
    run = training_run_start(project=project_with_labels, config=config, created_by=None)
    assert run.config["log_every"] == 1  # a CPU run reports (and checks for cancel) every iteration
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.RUNNING, **RUNNING_LEASE)
    seen: list[str] = []

    class CancellingReporter(JobReporter):
        def __call__(self, progress: float, message: str = "", *, force: bool = False) -> None:
            seen.append(message)
            if message.startswith("iteration 3 of"):
                job_cancel(job=Job.objects.get(pk=run.job_id))
            super().__call__(progress, message, force=True)

    with pytest.raises(JobCancelled):
        training_run_execute(run=run, reporter=CancellingReporter(run.job, owner=RUNNING_LEASE["lease_owner"]))
    assert [m for m in seen if m.startswith("iteration")][-1].startswith("iteration 3 of 40")

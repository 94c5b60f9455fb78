"""Export API: who may export, the background job, expiring download links, model zips."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from annotation.models import DatasetExport, Job, TrainingRun
from tests.annotation.export_factories import project_with_run, user
from tests.factories import RUNNING_LEASE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _client(account=None) -> APIClient:
    client = APIClient()
    if account is not None:
        client.force_authenticate(account)
    return client


def _start(client: APIClient, project_id: int, captured, **body):
    with captured(execute=True):
        return client.post(f"/api/v1/projects/{project_id}/exports", body, format="json")


@pytest.mark.parametrize(
    "roles, allowed", [((), False), (("annotator",), False), (("researcher",), True), (("admin",), True)]
)
def test_it_lets_only_researchers_and_admins_export(roles, allowed, django_capture_on_commit_callbacks):
    project, _ = project_with_run(images=4)
    response = _start(_client(user("someone", *roles)), project.pk, django_capture_on_commit_callbacks)
    assert response.status_code == (202 if allowed else 403)
    assert DatasetExport.objects.count() == (1 if allowed else 0)


def test_it_refuses_anonymous_users():
    project, _ = project_with_run(images=2)
    assert _client().post(f"/api/v1/projects/{project.pk}/exports", {}, format="json").status_code in (401, 403)


def test_it_runs_the_export_as_a_job_and_logs_who_exported_which_run(django_capture_on_commit_callbacks):
    project, run = project_with_run(images=6)
    researcher = user("rita", "researcher")
    client = _client(researcher)
    response = _start(client, project.pk, django_capture_on_commit_callbacks)
    export = DatasetExport.objects.get(pk=response.json()["export"]["id"])
    assert (export.run, export.created_by, export.source, export.kind) == (run, researcher, "run", "dataset")
    job = Job.objects.get(pk=export.job_id)
    assert (job.kind, job.status, job.progress) == ("export", "succeeded", 1.0)
    assert job.result["images"] == 6 and job.result["votes"] == 24
    detail = client.get(f"/api/v1/exports/{export.pk}").json()
    assert detail["job"]["status"] == "succeeded" and detail["download_url"] and detail["expires_at"]
    # the link itself is the credential: no session needed
    download = _client().get(detail["download_url"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "basic/EmoLabel/list_patition_label.txt" in archive.namelist()


def test_it_exports_the_hugging_face_format_with_its_content_hash(django_capture_on_commit_callbacks):
    project, run = project_with_run(images=6)
    client = _client(user("rita", "researcher"))
    response = _start(client, project.pk, django_capture_on_commit_callbacks, run=run.pk, format="hf")
    assert response.status_code == 202 and response.json()["export"]["format"] == "hf"
    detail = client.get(f"/api/v1/exports/{response.json()['export']['id']}").json()
    assert detail["format"] == "hf" and len(detail["content_hash"]) == 64
    archive = zipfile.ZipFile(io.BytesIO(b"".join(_client().get(detail["download_url"]).streaming_content)))
    assert {"croissant.json", "README.md", "checksums.sha256"} <= set(archive.namelist())
    again = _start(client, project.pk, django_capture_on_commit_callbacks, run=run.pk, format="hf").json()
    assert client.get(f"/api/v1/exports/{again['export']['id']}").json()["content_hash"] == detail["content_hash"]
    bad = _start(client, project.pk, django_capture_on_commit_callbacks, run=run.pk, format="csv")
    assert bad.status_code == 400


def test_it_refuses_an_unknown_run_and_a_project_without_reference_labels(django_capture_on_commit_callbacks):
    project, _ = project_with_run(images=2)
    client = _client(user("rita", "researcher"))
    assert _start(client, project.pk, django_capture_on_commit_callbacks, run=999999).status_code == 404
    response = _start(client, project.pk, django_capture_on_commit_callbacks, reference=True)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_reference_labels"


def test_it_expires_download_links_and_rejects_forged_ones(django_capture_on_commit_callbacks, monkeypatch, settings):
    settings.RAF_EXPORT_LINK_TTL_S = 60
    project, _ = project_with_run(images=2)
    client = _client(user("rita", "researcher"))
    export_id = _start(client, project.pk, django_capture_on_commit_callbacks).json()["export"]["id"]
    url = client.get(f"/api/v1/exports/{export_id}").json()["download_url"]
    assert _client().get(url).status_code == 200
    later = time.time() + 61
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    expired = _client().get(url)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "link_expired"
    forged = url.rsplit(":", 1)[0] + ":AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert _client().get(forged).status_code == 404


def test_it_shows_no_link_before_the_job_has_finished():
    project, run = project_with_run(images=2)
    researcher = user("rita", "researcher")
    job = Job.objects.create(kind="export", project=project, status="running", **RUNNING_LEASE)
    export = DatasetExport.objects.create(project=project, run=run, job=job, created_by=researcher)
    detail = _client(researcher).get(f"/api/v1/exports/{export.pk}").json()
    assert detail["download_url"] is None and detail["job"]["status"] == "running"
    assert _client(user("ann", "annotator")).get(f"/api/v1/exports/{export.pk}").status_code == 403


def test_it_zips_a_training_runs_model_files_card_and_plots():
    project, run = project_with_run(images=2)
    names = {
        "model": default_storage.save("training/1/model.onnx", ContentFile(b"onnx-bytes")),
        "checkpoint": default_storage.save("training/1/checkpoint.pt", ContentFile(b"pt-bytes")),
        "card": default_storage.save("training/1/MODEL_CARD.md", ContentFile(b"# card")),
        "plots": [default_storage.save("training/1/confusion.png", ContentFile(b"png"))],
    }
    training_run = TrainingRun.objects.create(project=project, reliability_run=run, artefacts=names)
    researcher = user("rita", "researcher")
    response = _client(researcher).get(f"/api/v1/training-runs/{training_run.pk}/model.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    prefix = f"training-run-{training_run.pk}/"
    assert sorted(archive.namelist()) == sorted(
        prefix + n for n in ("model.onnx", "checkpoint.pt", "MODEL_CARD.md", "confusion.png")
    )
    assert archive.read(prefix + "MODEL_CARD.md") == b"# card"
    assert DatasetExport.objects.filter(training_run=training_run, kind="model", created_by=researcher).exists()
    assert (
        _client(user("ann", "annotator")).get(f"/api/v1/training-runs/{training_run.pk}/model.zip").status_code == 403
    )
    empty = TrainingRun.objects.create(project=project, reliability_run=run)
    assert _client(researcher).get(f"/api/v1/training-runs/{empty.pk}/model.zip").status_code == 404

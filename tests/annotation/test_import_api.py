"""The import API: admins upload files or a zip, or send URLs, and get the Job back."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotation.models import Image, Job, JobStatus, Project
from tests.annotation import image_samples as samples
from tests.annotation.photo_server import PhotoServer, serve

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PhotoServer]:
    yield from serve(monkeypatch)


@pytest.fixture(autouse=True)
def _eager(settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="API project")


def client_for(role: str | None) -> APIClient:
    client = APIClient()
    if role is not None:
        user = User.objects.create(username=f"{role}-user")  # no password: hashing is slow, auth is forced
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        client.force_authenticate(user)
    return client


def url(project: Project) -> str:
    return f"/api/v1/projects/{project.pk}/imports"


ROLES = [(None, False), ("annotator", False), ("researcher", False), ("admin", True)]


@pytest.mark.parametrize(("role", "allowed"), ROLES)
def test_it_lets_only_admins_import(
    project: Project, role: str | None, allowed: bool, django_capture_on_commit_callbacks
) -> None:
    upload = SimpleUploadedFile("a.jpg", samples.jpeg(seed=1), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(role).post(url(project), {"files": [upload]}, format="multipart")
    assert (response.status_code == 202) is allowed
    if not allowed:
        assert response.status_code in (401, 403) and "error" in response.json()
        assert not Job.objects.exists() and not Image.objects.exists()


def test_it_imports_uploaded_images_and_a_zip_and_cleans_the_staging(
    project: Project, django_capture_on_commit_callbacks
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("set/one.jpg", samples.jpeg(seed=21))
        zf.writestr("set/two.txt", "not an image")
    files = [
        SimpleUploadedFile("a.jpg", samples.jpeg(seed=22), content_type="image/jpeg"),
        SimpleUploadedFile("b.jpg", samples.truncated_jpeg(), content_type="image/jpeg"),
        SimpleUploadedFile("batch.zip", buffer.getvalue(), content_type="application/zip"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("admin").post(url(project), {"files": files, "keyword": "api"}, format="multipart")

    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) >= {"id", "kind", "status", "progress", "message", "result", "error", "created_at"}
    job = Job.objects.get(pk=body["id"])
    assert job.kind == "import" and job.status == JobStatus.SUCCEEDED
    assert (job.result["imported"], job.result["rejected"]) == (2, 2)
    assert set(Image.objects.values_list("keyword", flat=True)) == {"api"}
    from django.conf import settings

    staging = Path(settings.MEDIA_ROOT) / "imports"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))


def test_it_imports_a_json_list_of_urls(
    project: Project, server: PhotoServer, settings, django_capture_on_commit_callbacks
) -> None:
    settings.RAF_DOWNLOAD_RETRIES = 0
    settings.RAF_DOWNLOAD_ALLOW_PRIVATE = True  # the test server is on loopback
    urls = [f"{server.base}/img/5.jpg", {"url": f"{server.base}/missing.jpg", "keyword": "gone"}]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("admin").post(url(project), {"urls": urls, "keyword": "web"}, format="json")

    assert response.status_code == 202, response.content
    result = Job.objects.get(pk=response.json()["id"]).result
    assert (result["imported"], result["rejected"]) == (1, 1)
    assert Image.objects.get().keyword == "web"


@pytest.mark.parametrize(
    "payload",
    [{}, {"urls": []}, {"urls": ["ftp://x/y.jpg"]}, {"urls": [{"link": "http://x"}]}],
    ids=["nothing", "empty", "ftp", "bad-entry"],
)
def test_it_refuses_bad_input_with_the_error_shape(project: Project, payload: dict) -> None:
    response = client_for("admin").post(url(project), payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Job.objects.exists()


def test_it_answers_404_for_an_unknown_project() -> None:
    response = client_for("admin").post("/api/v1/projects/999999/imports", {"urls": ["http://x/y.jpg"]}, format="json")
    assert response.status_code == 404 and "error" in response.json()

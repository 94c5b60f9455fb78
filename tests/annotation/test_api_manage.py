"""Projects, images, display copies and jobs through the API."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image as PILImage
from rest_framework.test import APIClient

from annotation.models import Face, Job, JobStatus, Project
from annotation.services.assignment import assignment_claim_next
from tests.annotation.factories import make_annotator, make_images, make_project, make_real_image, make_user

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_lets_admins_create_and_update_projects():
    admin = client_for(make_user("admin"))
    response = admin.post(reverse("api:project-list"), {"name": "Campaign", "votes_wanted": 5}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["classes"][0] == "surprise" and len(body["classes"]) == 7 and body["votes_wanted"] == 5
    project = Project.objects.get(pk=body["id"])
    [image] = make_images(project, 1)
    response = admin.patch(reverse("api:project-detail", args=[project.pk]), {"votes_wanted": 9}, format="json")
    assert response.status_code == 200 and response.json()["votes_wanted"] == 9
    image.refresh_from_db()
    assert image.votes_wanted == 9


@pytest.mark.parametrize(
    "payload",
    [
        {"name": ""},
        {"name": "x", "votes_wanted": 0},
        {"name": "x", "gold_rate": 2},
        {"name": "x", "classes": ["a", "a"]},
    ],
)
def test_it_rejects_a_bad_project_and_creates_nothing(payload):
    admin = client_for(make_user("admin"))
    response = admin.post(reverse("api:project-list"), payload, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] in ("invalid", "invalid_classes")
    assert not Project.objects.exists()


def test_it_refuses_a_duplicate_project_name():
    make_project(name="Same")
    response = client_for(make_user("admin")).post(reverse("api:project-list"), {"name": "Same"}, format="json")
    assert response.status_code == 400


def test_it_lists_images_with_faces_and_vote_counts_for_researchers():
    project = make_project()
    [image, _] = make_images(project, 2)
    Face.objects.create(image=image, is_main=True, x1=1, y1=2, x2=30, y2=40, landmarks=[[1, 2]] * 5)
    researcher = client_for(make_user("researcher"))
    body = researcher.get(reverse("api:image-list"), {"project": project.pk}).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["faces"][0]["is_main"] is True and first["counted_votes"] == 0 and first["votes_wanted"] == 40
    detail = researcher.get(reverse("api:image-detail", args=[image.pk])).json()
    assert detail["label_counts"] == [0] * 7 and detail["reports"] == 0


def test_it_serves_a_cacheable_display_copy_with_a_long_side_of_512():
    project = make_project()
    image = make_real_image(project, size=(1024, 768))
    response = client_for(make_user("researcher")).get(reverse("api:image-display", args=[image.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "max-age" in response["Cache-Control"]
    assert PILImage.open(io.BytesIO(response.content)).size == (512, 384)
    again = client_for(make_user("researcher")).get(
        reverse("api:image-display", args=[image.pk]), HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_it_serves_display_copies_to_an_annotator_only_for_his_assignments():
    project = make_project()
    image = make_real_image(project)
    other = make_real_image(project)
    user = make_annotator(project)
    [a] = assignment_claim_next(annotator=user, project=project)
    mine, theirs = (image, other) if a.image_id == image.pk else (other, image)
    client = client_for(user)
    assert client.get(reverse("api:image-display", args=[mine.pk])).status_code == 200
    assert client.get(reverse("api:image-display", args=[theirs.pk])).status_code == 404


def test_it_shows_annotators_only_their_own_jobs_and_lets_admins_cancel():
    project = make_project()
    annotator, researcher, admin = make_user("annotator"), make_user("researcher"), make_user("admin")
    mine = Job.objects.create(kind="import", project=project, created_by=annotator)
    theirs = Job.objects.create(kind="import", project=project, created_by=admin)
    ids = [j["id"] for j in client_for(annotator).get(reverse("api:job-list")).json()["results"]]
    assert ids == [mine.pk]
    assert client_for(annotator).get(reverse("api:job-detail", args=[theirs.pk])).status_code == 404
    body = client_for(researcher).get(reverse("api:job-list"), {"project": project.pk}).json()
    assert {j["id"] for j in body["results"]} == {mine.pk, theirs.pk}
    assert set(body["results"][0]) >= {
        "id", "kind", "status", "progress", "message", "result", "error", "created_at", "started_at", "finished_at",
    }  # fmt: skip
    assert client_for(researcher).post(reverse("api:job-cancel", args=[theirs.pk])).status_code == 403
    response = client_for(admin).post(reverse("api:job-cancel", args=[theirs.pk]))
    assert response.status_code == 200 and response.json()["status"] == JobStatus.CANCELLED


def test_it_builds_the_openapi_schema_without_warnings():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/projects/{project_id}/claim" in out.getvalue()
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200

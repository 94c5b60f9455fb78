from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.models import FaceRevision, ImageReport, ImageStatus
from annotation.services.faces import face_detect_image
from tests.annotation.faces_helpers import grant_face_editing, make_photo_image, make_project, make_user

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def editor():
    return make_user("annotator", trusted=True)


def test_it_lets_only_trusted_annotators_and_admins_correct_faces(editor) -> None:
    image = make_photo_image(make_project(), "nonface/tree-736885_640.jpg")
    assert client_for(make_user("annotator")).get("/api/v1/faces/queue").status_code == 403
    assert client_for(make_user("researcher")).get(f"/api/v1/faces/images/{image.pk}").status_code == 403
    assert APIClient().get("/api/v1/faces/queue").status_code in (401, 403)
    assert client_for(editor).get("/api/v1/faces/queue").status_code == 200
    assert client_for(make_user("admin")).get(f"/api/v1/faces/images/{image.pk}").status_code == 200


def test_it_queues_images_needing_a_face_and_reported_ones(editor) -> None:
    project = make_project()
    needs = make_photo_image(project, "nonface/tree-736885_640.jpg")
    reported = make_photo_image(project, "lisa/lisa2.jpg")
    face_detect_image(image=reported)
    ImageReport.objects.create(image=reported, annotator=make_user("annotator"), reason="can't see")
    fine = make_photo_image(project, "lisa/lisa1.jpg")
    face_detect_image(image=fine)
    rejected = make_photo_image(project, "nonface/fox-715588_640.jpg", status=ImageStatus.REJECTED)

    body = client_for(editor).get(f"/api/v1/faces/queue?project={project.pk}").json()

    assert [item["id"] for item in body["results"]] == [needs.pk, reported.pk]
    assert body["count"] == 2 and body["results"][1]["open_reports"] == 1 and body["results"][1]["n_faces"] == 1
    assert rejected.pk not in [item["id"] for item in body["results"]]


def test_it_corrects_a_face_through_the_api(editor) -> None:
    image = make_photo_image(make_project(), "lisa/lisa2.jpg")
    face_detect_image(image=image)
    api = client_for(editor)
    face = api.get(f"/api/v1/faces/images/{image.pk}").json()["faces"][0]
    assert face["is_main"] and face["landmarks_source"] == "auto" and len(face["landmarks"]) == 5

    landmarks = [[x + 2, y] for x, y in face["landmarks"]]
    response = api.patch(f"/api/v1/faces/{face['id']}", {"landmarks": landmarks, "race": 3}, format="json")

    assert response.status_code == 200, response.json()
    saved = response.json()
    assert saved["landmarks_source"] == "manual" and saved["race"] == 3
    assert saved["landmarks"][0][0] == pytest.approx(landmarks[0][0])
    revisions = api.get(f"/api/v1/faces/{face['id']}/revisions").json()
    assert len(revisions) == 1 and revisions[0]["changed_by"] == editor.username
    aligned = api.get(saved["aligned_grey_url"])
    assert aligned.status_code == 200 and b"".join(aligned.streaming_content)[:4] == b"\x89PNG"
    photo = api.get(f"/api/v1/faces/images/{image.pk}/file")
    assert photo.status_code == 200 and b"".join(photo.streaming_content)[:2] == b"\xff\xd8"


def test_it_answers_bad_landmarks_with_the_error_shape(editor) -> None:
    image = make_photo_image(make_project(), "lisa/lisa2.jpg")
    face_detect_image(image=image)
    face = image.faces.get()
    same = [[200.0, 290.0]] * 5
    response = client_for(editor).patch(f"/api/v1/faces/{face.pk}", {"landmarks": same}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_landmarks"
    assert "coincide" in response.json()["error"]["message"]
    short = client_for(editor).patch(f"/api/v1/faces/{face.pk}", {"landmarks": same[:3]}, format="json")
    assert short.status_code == 400 and short.json()["error"]["code"] == "invalid"
    assert not FaceRevision.objects.exists()


def test_it_rejects_an_image_and_draws_faces_by_hand(editor) -> None:
    project = make_project()
    image = make_photo_image(project, "nonface/fox-715588_640.jpg")
    api = client_for(editor)
    created = api.post(
        f"/api/v1/faces/images/{image.pk}/faces",
        {"box": [100, 50, 300, 300], "landmarks": [[150, 120], [250, 120], [200, 170], [160, 230], [240, 230]]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["is_main"]
    other = make_photo_image(project, "nonface/tree-736885_640.jpg")
    assert api.post(f"/api/v1/faces/images/{other.pk}/reject", {"reason": ""}, format="json").status_code == 400
    rejected = api.post(f"/api/v1/faces/images/{other.pk}/reject", {"reason": "a tree"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_it_starts_detection_for_a_project(settings, django_capture_on_commit_callbacks) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    project = make_project()
    image = make_photo_image(project, "lisa/lisa4.jpg")
    assert (
        client_for(make_user("annotator", trusted=True)).post(f"/api/v1/projects/{project.pk}/faces/detect").status_code
        == 403
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(make_user("researcher")).post(
            f"/api/v1/projects/{project.pk}/faces/detect", {}, format="json"
        )
    assert response.status_code == 202 and response.json()["kind"] == "face_detect"
    image.refresh_from_db()
    assert image.status == ImageStatus.READY


def test_it_serves_the_pages_to_editors_only(client, editor) -> None:
    image = make_photo_image(make_project(), "nonface/tree-736885_640.jpg")
    assert client.get("/faces/").status_code == 302
    client.force_login(make_user("annotator"))
    assert client.get(f"/faces/images/{image.pk}/").status_code == 403
    client.force_login(editor)
    queue = client.get("/faces/")
    assert queue.status_code == 200 and f'data-image="{image.pk}"' in queue.content.decode()
    page = client.get(f"/faces/images/{image.pk}/")
    assert page.status_code == 200 and b"faces_edit.js" in page.content and "csrftoken" in page.cookies


def test_a_face_editor_of_one_project_cannot_touch_another_project() -> None:
    mine, theirs = make_project(), make_project()
    editor = make_user("annotator")
    grant_face_editing(editor, mine)
    other = make_photo_image(theirs, "lisa/lisa2.jpg")
    face_detect_image(image=other)
    client = client_for(editor)
    assert client.get(f"/api/v1/faces/images/{other.pk}").status_code == 404
    assert client.get(f"/api/v1/faces/images/{other.pk}/file").status_code == 404  # the original
    response = client.post(f"/api/v1/faces/images/{other.pk}/reject", {"reason": "spite"}, format="json")
    assert response.status_code == 404
    face = other.faces.get()
    assert client.patch(f"/api/v1/faces/{face.pk}", {"box": [1, 1, 20, 20]}, format="json").status_code == 404
    other.refresh_from_db()
    assert other.status != "rejected"
    queue = client.get("/api/v1/faces/queue").json()
    assert all(item["project"] == mine.pk for item in queue["results"])

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from annotation.models import Face, Image, ImageStatus, Job, JobStatus
from annotation.models.face import LandmarkSource
from annotation.services.faces import face_detect_image, faces_detect_start
from annotation.signals import images_imported
from tests.annotation.faces_helpers import make_photo_image, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_it_detects_a_face_and_makes_the_image_ready(eager, django_capture_on_commit_callbacks) -> None:
    project = make_project()
    image = make_photo_image(project, "london/neutral/001.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        job = faces_detect_start(project=project, image_ids=[image.pk], created_by=make_user("researcher"))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.kind == "face_detect"
    assert job.result["with_face"] == 1 and job.result["faces"] == 1 and job.progress == 1.0
    image.refresh_from_db()
    assert image.status == ImageStatus.READY
    face = image.faces.get()
    assert face.is_main and face.landmarks_source == LandmarkSource.AUTO and face.confidence > 0.9
    (lx, ly), (rx, ry) = face.landmarks[:2]
    assert abs(lx - 188.3) < 5 and abs(ly - 210.7) < 5 and abs(rx - 259.3) < 5 and abs(ry - 208.0) < 5
    assert abs(face.roll) < 5 and abs(face.yaw) < 15 and abs(face.pitch) < 15
    assert face.aligned.name.endswith(".png") and face.aligned_grey.name.endswith("_grey.png")
    with face.aligned_grey.open("rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_it_leaves_a_photo_without_a_face_needing_one() -> None:
    image = make_photo_image(make_project(), "nonface/mountains-615428_640.jpg")
    assert face_detect_image(image=image) == 0
    image.refresh_from_db()
    assert image.status == ImageStatus.NEEDS_FACE and not image.faces.exists()


def test_it_keeps_every_face_and_skips_images_already_done() -> None:
    project = make_project()
    image = make_photo_image(project, "lisa/lisa2.jpg")
    assert face_detect_image(image=image) == 1
    assert face_detect_image(image=Image.objects.get(pk=image.pk)) is None  # redelivered job
    assert Face.objects.filter(image=image).count() == 1


def test_it_starts_detection_when_images_are_imported(eager, django_capture_on_commit_callbacks) -> None:
    project = make_project()
    image = make_photo_image(project, "lisa/lisa1.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        images_imported.send(sender=None, project=project, image_ids=[image.pk], created_by=None)
    job = Job.objects.get(project=project, kind="face_detect")
    assert job.status == JobStatus.SUCCEEDED and job.params == {"image_ids": [image.pk]}
    assert Image.objects.get(pk=image.pk).status == ImageStatus.READY


def test_it_counts_an_unreadable_file_without_stopping(eager, django_capture_on_commit_callbacks) -> None:
    project = make_project()
    broken = make_photo_image(project, "lisa/lisa4.jpg")
    broken.file.storage.delete(broken.file.name)
    broken.file.save("broken.jpg", ContentFile(b"not a jpeg"))
    good = make_photo_image(project, "lisa/lisa2.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        job = faces_detect_start(project=project, image_ids=[broken.pk, good.pk], created_by=None)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["failed"] == 1 and job.result["with_face"] == 1

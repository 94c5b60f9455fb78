from __future__ import annotations

import numpy as np
import pytest
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Face, FaceRevision, ImageReport, ImageStatus
from annotation.models.face import LandmarkSource
from annotation.services.faces import (
    face_create_manual,
    face_detect_image,
    face_set_main,
    face_update,
    image_reject,
)
from tests.annotation.faces_helpers import make_photo_image, make_project, make_user

pytestmark = pytest.mark.django_db

# lisa3's hand-placed pupils, and plausible nose and mouth corners for the same face.
LISA3 = [[186.8, 255.0], [280.5, 220.5], [245.0, 290.0], [218.0, 340.0], [284.0, 318.0]]


@pytest.fixture
def detected_face() -> Face:
    image = make_photo_image(make_project(), "lisa/lisa3.jpg")
    assert face_detect_image(image=image) == 1
    return image.faces.get()


def test_it_records_a_revision_and_recomputes_alignment_and_pose(detected_face: Face) -> None:
    editor = make_user("annotator", trusted=True)
    before_roll = detected_face.roll
    with detected_face.aligned.open("rb") as handle:
        before_png = handle.read()
    levelled = [[186.8, 255.0], [280.5, 255.0], [235.0, 300.0], [205.0, 350.0], [265.0, 350.0]]

    face = face_update(face=detected_face, landmarks=levelled, attributes={"gender": 1, "race": 3}, user=editor)

    face.refresh_from_db()
    assert face.landmarks_source == LandmarkSource.MANUAL and face.updated_by == editor
    assert face.landmarks[1] == [280.5, 255.0] and face.gender == 1 and face.race == 3
    assert before_roll < -15 and abs(face.roll) < 0.01
    with face.aligned.open("rb") as handle:
        assert handle.read() != before_png
    revision = FaceRevision.objects.get(face=face)
    assert revision.changed_by == editor and revision.changed_at <= timezone.now()
    assert revision.before["landmarks_source"] == "auto" and revision.before["gender"] is None
    assert revision.before["roll"] == pytest.approx(before_roll)
    assert revision.after["landmarks"] == face.landmarks and revision.after["gender"] == 1


def test_it_changes_only_attributes_without_touching_the_landmarks(detected_face: Face) -> None:
    face = face_update(face=detected_face, attributes={"age_range": 2}, user=make_user("admin"))
    face.refresh_from_db()
    assert face.age_range == 2 and face.landmarks_source == LandmarkSource.AUTO
    assert FaceRevision.objects.filter(face=face).count() == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"landmarks": [[200, 250], [200, 250], [245, 290], [218, 340], [284, 318]]}, "invalid_landmarks"),
        ({"landmarks": [[186, 255], [280, 220], [245, 290], [218, 340], [284, 9000]]}, "invalid_landmarks"),
        ({"box": [100, 100, 90, 300]}, "invalid_box"),
        ({"box": [-5, 100, 300, 300]}, "invalid_box"),
        ({"attributes": {"gender": 7}}, "invalid_attributes"),
        ({"attributes": {"mood": 1}}, "invalid_attributes"),
    ],
)
def test_it_refuses_bad_corrections_and_changes_nothing(detected_face: Face, change: dict, code: str) -> None:
    before = Face.objects.get(pk=detected_face.pk)
    with pytest.raises(ServiceError) as error:
        face_update(face=detected_face, user=make_user("admin"), **change)
    assert error.value.code == code
    after = Face.objects.get(pk=detected_face.pk)
    assert after.landmarks == before.landmarks and after.gender == before.gender and after.x2 == before.x2
    assert not FaceRevision.objects.filter(face=detected_face).exists()


def test_it_draws_a_face_by_hand_on_an_image_without_one() -> None:
    image = make_photo_image(make_project(), "lisa/lisa3.jpg")
    annotator = make_user("annotator")
    ImageReport.objects.create(image=image, annotator=annotator)
    editor = make_user("annotator", trusted=True)

    face = face_create_manual(image=image, box=[110, 130, 360, 420], landmarks=LISA3, user=editor)

    assert face.is_main and face.landmarks_source == LandmarkSource.MANUAL
    assert face.roll == pytest.approx(np.degrees(np.arctan2(-34.5, 93.7)), abs=0.01)
    assert face.aligned and face.aligned_grey
    image.refresh_from_db()
    assert image.status == ImageStatus.READY
    assert ImageReport.objects.get(image=image).resolved_at is not None
    assert FaceRevision.objects.get(face=face).before == {}


def test_it_moves_the_main_mark_between_faces(detected_face: Face) -> None:
    editor = make_user("admin")
    second = face_create_manual(
        image=detected_face.image,
        box=[0, 0, 100, 100],
        landmarks=[[20, 30], [60, 30], [40, 50], [30, 70], [50, 70]],
        user=editor,
    )
    assert not second.is_main
    face_set_main(face=second, user=editor)
    assert Face.objects.get(pk=second.pk).is_main and not Face.objects.get(pk=detected_face.pk).is_main


def test_it_rejects_an_image_with_a_reason_and_resolves_its_reports() -> None:
    image = make_photo_image(make_project(), "nonface/fox-715588_640.jpg")
    ImageReport.objects.create(image=image, annotator=make_user("annotator"))
    with pytest.raises(ServiceError, match="why"):
        image_reject(image=image, reason="  ", user=make_user("admin"))
    image_reject(image=image, reason="an animal, no face", user=make_user("admin"))
    image.refresh_from_db()
    assert image.status == ImageStatus.REJECTED and image.reject_reason == "an animal, no face"
    assert ImageReport.objects.get(image=image).resolved_at is not None
    with pytest.raises(ServiceError) as error:
        face_create_manual(image=image, box=[0, 0, 100, 100], landmarks=LISA3, user=make_user("admin"))
    assert error.value.code == "image_rejected"

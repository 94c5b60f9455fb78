"""Faces of images: automatic detection on import, human correction, alignment and pose.

Detection (:func:`faces_detect_start`, a job) keeps every face MTCNN finds and marks the main
one (largest and most confident); an image with a face becomes ``ready`` for labelling, one
without stays ``needs_face`` until a trusted annotator or an admin draws one
(:func:`face_create_manual`) or rejects it (:func:`image_reject`). Every change by a person
(:func:`face_update`) is stored as manual, recomputes the 100x100 alignment and the head pose,
and is kept as a :class:`FaceRevision` with who, when, and the values before and after.
The pure parts (detector, alignment, pose) are :mod:`training.face` and
:mod:`training.alignment`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from annotation.errors import ServiceError
from annotation.models import Face, FaceRevision, Image, ImageReport, ImageStatus, Job, Project
from annotation.models.face import AgeRange, Gender, LandmarkSource, Race
from annotation.services.jobs import job_create, job_enqueue
from training.alignment import LandmarkError, align_colour_and_grey, check_landmarks
from training.face import detect_faces, estimate_pose

logger = logging.getLogger(__name__)

FACE_DETECT_JOB = "face_detect"
ATTRIBUTE_CHOICES: dict[str, type[Gender] | type[AgeRange] | type[Race]] = {
    "gender": Gender,
    "age_range": AgeRange,
    "race": Race,
}
Box = Sequence[float]  # (x1, y1, x2, y2) in image pixels


# ---------------------------------------------------------------------------------------------
# Automatic detection
# ---------------------------------------------------------------------------------------------


def faces_detect_start(
    *, project: Project, image_ids: Iterable[int], created_by: AbstractBaseUser | None = None
) -> Job:
    """Queue a face-detection job for ``image_ids`` of ``project`` (run after commit)."""
    from annotation import tasks  # tasks import this module

    ids = sorted({int(i) for i in image_ids})
    job = job_create(kind=FACE_DETECT_JOB, project=project, created_by=created_by, params={"image_ids": ids})
    return job_enqueue(job=job, task=tasks.faces_detect_task)


@dataclass
class DetectReport:
    images: int = 0
    with_face: int = 0
    without_face: int = 0
    faces: int = 0
    skipped: int = 0
    failed: int = 0

    def as_result(self) -> dict[str, int]:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"{self.with_face} of {self.images} images with a face ({self.faces} faces), "
            f"{self.without_face} need a face, {self.skipped} skipped, {self.failed} unreadable"
        )


def faces_detect_run(
    *, project: Project, image_ids: Sequence[int], progress: Callable[[float, str], None] | None = None
) -> DetectReport:
    """Detect faces in the listed images that still need one; see :func:`face_detect_image`."""
    report = DetectReport()
    ids = list(image_ids)
    for done, image in enumerate(Image.objects.filter(project=project, pk__in=ids).order_by("pk").iterator(), 1):
        report.images += 1
        try:
            found = face_detect_image(image=image)
        except (OSError, ValueError) as exc:  # an unreadable file must not stop the batch
            logger.warning("face detection failed for image %s: %s", image.pk, exc)
            report.failed += 1
        else:
            if found is None:
                report.skipped += 1
            elif found:
                report.with_face += 1
                report.faces += found
            else:
                report.without_face += 1
        if progress:
            progress(done / max(len(ids), 1), f"{done} of {len(ids)} images")
    return report


def face_detect_image(*, image: Image) -> int | None:
    """Detect the faces of one image and store them (landmarks ``auto``).

    Returns the number of faces stored, or None when the image was skipped: it is not
    ``needs_face`` or already has faces (a redelivered job, or a person was faster).
    """
    if image.status != ImageStatus.NEEDS_FACE or image.faces.exists():
        return None
    rgb = image_rgb(image)
    faces = []
    for detection in detect_faces(rgb):
        face = Face(image=image, confidence=detection.confidence, landmarks_source=LandmarkSource.AUTO)
        try:
            _set_geometry(face, rgb, _clip_box(detection.box, rgb.shape), detection.landmarks.tolist(), strict=False)
        except ServiceError:  # a degenerate detection (eyes on top of each other) is no face
            continue
        faces.append(face)
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        if locked.status != ImageStatus.NEEDS_FACE or locked.faces.exists():
            return None
        for rank, face in enumerate(faces):
            face.image = locked
            face.is_main = rank == 0
            face.save()
            _store_alignment(face, rgb)
        if faces:
            locked.status = ImageStatus.READY
            locked.save(update_fields=["status"])
    image.status = locked.status
    return len(faces)


def image_rgb(image: Image) -> np.ndarray:
    """The stored photo of ``image`` as RGB ``(H, W, 3)`` uint8."""
    with image.file.open("rb") as handle:
        data = handle.read()
    with PILImage.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


# ---------------------------------------------------------------------------------------------
# Human correction
# ---------------------------------------------------------------------------------------------


def face_update(
    *,
    face: Face,
    box: Box | None = None,
    landmarks: Sequence[Sequence[float]] | None = None,
    attributes: dict[str, int | None] | None = None,
    user: AbstractBaseUser,
) -> Face:
    """Correct a face: any of box, landmarks and attributes (None keeps the current value).

    A changed box or landmarks are marked manual and recompute the alignment and the pose.
    The change is recorded as a :class:`FaceRevision`; the image's open reports are resolved
    and an image that needed a face becomes ready. Bad input raises :class:`ServiceError`
    and changes nothing.
    """
    attributes = _clean_attributes(attributes or {})
    geometry_changed = box is not None or landmarks is not None
    rgb = image_rgb(face.image) if geometry_changed else None
    with transaction.atomic():
        face = Face.objects.select_for_update().select_related("image").get(pk=face.pk)
        before = face_snapshot(face)
        if rgb is not None:
            new_box = _valid_box(box if box is not None else (face.x1, face.y1, face.x2, face.y2), rgb.shape)
            new_landmarks = landmarks if landmarks is not None else face.landmarks
            _set_geometry(face, rgb, new_box, new_landmarks, strict=True)
            face.landmarks_source = LandmarkSource.MANUAL
        for name, value in attributes.items():
            setattr(face, name, value)
        face.updated_by = user  # type: ignore[assignment]
        face.save()
        if rgb is not None:
            _store_alignment(face, rgb)
        FaceRevision.objects.create(face=face, changed_by=user, before=before, after=face_snapshot(face))
        _image_settled(face.image)
    return face


def face_create_manual(
    *,
    image: Image,
    box: Box,
    landmarks: Sequence[Sequence[float]],
    attributes: dict[str, int | None] | None = None,
    user: AbstractBaseUser,
) -> Face:
    """Draw a face by hand (an image where detection found none, or a missed face). It becomes
    the main face when the image has none; the image becomes ready."""
    if image.status == ImageStatus.REJECTED:
        raise ServiceError("This image was rejected.", code="image_rejected", status_code=409)
    attributes = _clean_attributes(attributes or {})
    rgb = image_rgb(image)
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        face = Face(
            image=locked,
            is_main=not locked.faces.filter(is_main=True).exists(),
            landmarks_source=LandmarkSource.MANUAL,
            updated_by=user,
            **attributes,
        )
        _set_geometry(face, rgb, _valid_box(box, rgb.shape), landmarks, strict=True)
        face.save()
        _store_alignment(face, rgb)
        FaceRevision.objects.create(face=face, changed_by=user, before={}, after=face_snapshot(face))
        _image_settled(locked)
    return face


def face_set_main(*, face: Face, user: AbstractBaseUser) -> Face:
    """Make ``face`` the annotated face of its image (the others stay, not main)."""
    with transaction.atomic():
        face = Face.objects.select_for_update().get(pk=face.pk)
        previous = Face.objects.select_for_update().filter(image_id=face.image_id, is_main=True).exclude(pk=face.pk)
        for other in previous:
            before = face_snapshot(other)
            other.is_main = False
            other.save(update_fields=["is_main", "updated_at"])
            FaceRevision.objects.create(face=other, changed_by=user, before=before, after=face_snapshot(other))
        if not face.is_main:
            before = face_snapshot(face)
            face.is_main = True
            face.updated_by = user  # type: ignore[assignment]
            face.save(update_fields=["is_main", "updated_by", "updated_at"])
            FaceRevision.objects.create(face=face, changed_by=user, before=before, after=face_snapshot(face))
    return face


def image_reject(*, image: Image, reason: str, user: AbstractBaseUser) -> Image:
    """Take an image out of labelling for good (no usable face, not a photo, offensive...)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the image is rejected.", code="reason_required")
    with transaction.atomic():
        locked = Image.objects.select_for_update().get(pk=image.pk)
        locked.status = ImageStatus.REJECTED
        locked.reject_reason = reason[:500]
        locked.save(update_fields=["status", "reject_reason"])
        ImageReport.objects.filter(image=locked, resolved_at__isnull=True).update(resolved_at=timezone.now())
    logger.info("image %s rejected by user %s: %s", image.pk, getattr(user, "pk", None), reason)
    return locked


def face_snapshot(face: Face) -> dict[str, Any]:
    """What a revision keeps of a face: box, landmarks, source, attributes, pose, main flag."""
    return {
        "box": [face.x1, face.y1, face.x2, face.y2],
        "landmarks": face.landmarks,
        "landmarks_source": face.landmarks_source,
        "gender": face.gender,
        "age_range": face.age_range,
        "race": face.race,
        "yaw": face.yaw,
        "pitch": face.pitch,
        "roll": face.roll,
        "is_main": face.is_main,
    }


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _set_geometry(face: Face, rgb: np.ndarray, box: Box, landmarks: Any, *, strict: bool) -> None:
    """Box, landmarks and pose on ``face`` (not saved). ``strict`` turns bad landmarks into a
    ServiceError; detections (not strict) only have their out-of-image points clamped."""
    height, width = rgb.shape[:2]
    try:
        points = check_landmarks(np.asarray(landmarks, dtype=np.float64), image_shape=rgb.shape if strict else None)
    except LandmarkError as exc:
        raise ServiceError(str(exc), code="invalid_landmarks") from exc
    if not strict:
        points = points.clip([0, 0], [width, height])
    try:
        pose = estimate_pose(points, rgb.shape)
        align_colour_and_grey(rgb, points)  # validates the anchors before anything is saved
    except LandmarkError as exc:
        raise ServiceError(str(exc), code="invalid_landmarks") from exc
    face.x1, face.y1, face.x2, face.y2 = (float(v) for v in box)
    face.landmarks = [[round(float(x), 2), round(float(y), 2)] for x, y in points]
    face.yaw, face.pitch, face.roll = (round(v, 2) for v in (pose.yaw, pose.pitch, pose.roll))


def _store_alignment(face: Face, rgb: np.ndarray) -> None:
    """Write the aligned colour and grey 100x100 PNGs of a saved face to storage."""
    colour, grey = align_colour_and_grey(rgb, np.asarray(face.landmarks, dtype=np.float64))
    for field, pixels, suffix in ((face.aligned, colour, ""), (face.aligned_grey, grey, "_grey")):
        if field.name:
            field.storage.delete(field.name)
        buffer = io.BytesIO()
        PILImage.fromarray(pixels).save(buffer, format="PNG")
        field.save(f"face{face.pk}{suffix}.png", ContentFile(buffer.getvalue()), save=False)
    face.save(update_fields=["aligned", "aligned_grey"])


def _image_settled(image: Image) -> None:
    """A person handled the image's face: resolve its open reports; needs_face -> ready."""
    ImageReport.objects.filter(image=image, resolved_at__isnull=True).update(resolved_at=timezone.now())
    Image.objects.filter(pk=image.pk, status=ImageStatus.NEEDS_FACE).update(status=ImageStatus.READY)


def _clip_box(box: Box, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    height, width = shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    return max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)


def _valid_box(box: Box, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise ServiceError("A box is four numbers: x1, y1, x2, y2.", code="invalid_box") from exc
    height, width = shape[:2]
    if not all(np.isfinite([x1, y1, x2, y2])):
        raise ServiceError("The box contains a value that is not a number.", code="invalid_box")
    if x2 - x1 < 2 or y2 - y1 < 2:
        raise ServiceError("The box must be at least 2 pixels wide and high (x2 > x1, y2 > y1).", code="invalid_box")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ServiceError(f"The box falls outside the {width}x{height} image.", code="invalid_box")
    return x1, y1, x2, y2


def _clean_attributes(attributes: dict[str, Any]) -> dict[str, int | None]:
    unknown = set(attributes) - set(ATTRIBUTE_CHOICES)
    if unknown:
        raise ServiceError(f"Unknown attributes: {', '.join(sorted(unknown))}.", code="invalid_attributes")
    cleaned: dict[str, int | None] = {}
    for name, value in attributes.items():
        if value is not None and value not in ATTRIBUTE_CHOICES[name].values:
            allowed = ", ".join(f"{v} ({label})" for v, label in ATTRIBUTE_CHOICES[name].choices)
            raise ServiceError(f"{name} must be one of {allowed}, or null.", code="invalid_attributes")
        cleaned[name] = value
    return cleaned

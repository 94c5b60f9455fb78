"""Small factories for tests: users with roles, projects, images stored as real JPEGs."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import UTC, datetime

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from PIL import Image as PILImage

from annotation.models import Face, Image, ImageStatus, Project, Qualification

_counter = itertools.count(1)

# The lease fields a running Job row must carry (its worker's, with a heartbeat that stays live).
RUNNING_LEASE = {"lease_owner": "test-worker:0:lease", "heartbeat_at": datetime(2100, 1, 1, tzinfo=UTC)}


def make_user(*, role: str = "annotator", username: str | None = None, password: str = "raf-test-password") -> User:
    user = User.objects.create_user(username=username or f"user{next(_counter)}", password=password)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_project(**fields: object) -> Project:
    fields.setdefault("name", f"project {next(_counter)}")
    return Project.objects.create(**fields)


def jpeg_bytes(*, width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A real JPEG whose colour depends on ``seed`` (so each has its own sha256)."""
    colour = ((seed * 53) % 256, (seed * 97) % 256, (seed * 29) % 256)
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def image_from_bytes(
    project: Project, data: bytes, *, width: int, height: int, sha256: str | None = None, **fields: object
) -> Image:
    """A saved Image row storing ``data`` as its file (``sha256``: the data's, unless given)."""
    sha = sha256 or hashlib.sha256(data).hexdigest()
    image = Image(
        project=project,
        sha256=sha,
        size_bytes=len(data),
        width=width,
        height=height,
        votes_wanted=project.votes_wanted,
        **fields,
    )
    image.file.save(f"{sha}.jpg", ContentFile(data), save=False)
    image.save()
    return image


def make_image(
    *,
    project: Project,
    status: str = ImageStatus.READY,
    gold_label: int | None = None,
    width: int = 64,
    height: int = 48,
    face: bool = False,
    **fields: object,
) -> Image:
    data = jpeg_bytes(width=width, height=height, seed=next(_counter))
    image = image_from_bytes(
        project, data, width=width, height=height, status=status, is_gold=gold_label is not None,
        gold_label=gold_label, **fields,
    )  # fmt: skip
    if face:
        Face.objects.create(
            image=image,
            is_main=True,
            x1=width * 0.2,
            y1=height * 0.2,
            x2=width * 0.8,
            y2=height * 0.9,
            landmarks=[
                [width * 0.35, height * 0.4],
                [width * 0.65, height * 0.4],
                [width * 0.5, height * 0.55],
                [width * 0.38, height * 0.72],
                [width * 0.62, height * 0.72],
            ],
        )
    return image


def make_qualified(*, annotator: User, project: Project) -> Qualification:
    from django.utils import timezone

    now = timezone.now()
    qualification, _ = Qualification.objects.update_or_create(
        annotator=annotator, project=project, defaults={"tutorial_read_at": now, "qualified_at": now}
    )
    return qualification

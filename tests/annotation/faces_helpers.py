"""Rows for the face tests: users with roles, a project, images made from the real photos."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.contrib.auth.models import Group, User
from PIL import Image as PILImage

from annotation.models import AnnotatorProfile, Image, ImageStatus, Project
from tests.factories import image_from_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]
_serial = itertools.count(1)


def face_data() -> Path:
    """The real photos the suite ships (``tests/data/face-data``, licences in its README)."""
    return REPO_ROOT / "tests" / "data" / "face-data"


def make_user(role: str | None = "annotator", *, trusted: bool = False) -> User:
    user = User.objects.create_user(username=f"faces-user{next(_serial)}", password=None)
    if role:
        # get_or_create: transactional (browser) tests flush the groups the migrations made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if trusted:
        AnnotatorProfile.objects.update_or_create(user=user, defaults={"trusted": True})
    return user


def make_project() -> Project:
    return Project.objects.create(name=f"faces project {next(_serial)}", gold_rate=0.0)


def make_photo_image(project: Project, relative: str, *, status: str = ImageStatus.NEEDS_FACE) -> Image:
    """An Image row whose stored file is the real photo ``face-data/<relative>``."""
    data = (face_data() / relative).read_bytes()
    with PILImage.open(face_data() / relative) as picture:
        width, height = picture.size
    return image_from_bytes(project, data, width=width, height=height, source=relative, status=status)

"""Rows for the face tests: users with roles, a project, images made from the real photos."""

from __future__ import annotations

import itertools
from pathlib import Path

from django.contrib.auth.models import Group, User
from PIL import Image as PILImage

from annotation.models import Image, ImageStatus, Project, Qualification
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
        # A face editor of every project the helpers make, before and after (a role per project).
        _face_editors.add(user.pk)
        for project in Project.objects.all():
            grant_face_editing(user, project)
    return user


_face_editors: set[int] = set()


def grant_face_editing(user: User, project: Project) -> None:
    Qualification.objects.update_or_create(annotator=user, project=project, defaults={"may_edit_faces": True})


def make_project() -> Project:
    project = Project.objects.create(name=f"faces project {next(_serial)}", gold_rate=0.0)
    for user in User.objects.filter(pk__in=_face_editors):
        grant_face_editing(user, project)
    return project


def make_photo_image(project: Project, relative: str, *, status: str = ImageStatus.NEEDS_FACE) -> Image:
    """An Image row whose stored file is the real photo ``face-data/<relative>``."""
    data = (face_data() / relative).read_bytes()
    with PILImage.open(face_data() / relative) as picture:
        width, height = picture.size
    return image_from_bytes(project, data, width=width, height=height, source=relative, status=status)

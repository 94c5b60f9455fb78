"""Small factories for annotation tests (plain functions, real database rows)."""

from __future__ import annotations

import hashlib
import io
import itertools

from django.contrib.auth.models import Group, User
from django.db.models import Count, Q
from django.utils import timezone
from PIL import Image as PILImage

from annotation.models import Assignment, Image, ImageStatus, Project, Qualification, Vote
from annotation.models.assignment import AssignmentStatus
from tests.factories import image_from_bytes

_serial = itertools.count(1)


def make_user(role: str | None = "annotator", *, username: str | None = None) -> User:
    # No password: hashing one costs ~0.3 s, and tests authenticate with force_login or tokens.
    user = User.objects.create_user(username=username or f"user{next(_serial)}", password=None)
    if role:
        # get_or_create: transactional tests flush the groups the migrations made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_project(**fields) -> Project:
    fields.setdefault("name", f"project {next(_serial)}")
    fields.setdefault("gold_rate", 0.0)
    return Project.objects.create(**fields)


def qualify(user: User, project: Project) -> Qualification:
    qualification, _ = Qualification.objects.update_or_create(
        annotator=user, project=project, defaults={"qualified_at": timezone.now()}
    )
    return qualification


def make_annotator(project: Project) -> User:
    user = make_user("annotator")
    qualify(user, project)
    return user


def make_images(project: Project, n: int, *, status: str = ImageStatus.READY, **fields) -> list[Image]:
    rows = []
    for _ in range(n):
        sha = hashlib.sha256(f"image {next(_serial)}".encode()).hexdigest()
        rows.append(
            Image(
                project=project,
                file=f"images/{project.pk}/{sha}.jpg",
                sha256=sha,
                size_bytes=1000,
                width=640,
                height=480,
                status=status,
                votes_wanted=project.votes_wanted,
                **fields,
            )
        )
    return Image.objects.bulk_create(rows)


def make_gold(project: Project, n: int, *, label: int = 3, checks: bool = True) -> list[Image]:
    """``n`` gold images of class ``label``. With ``checks`` (the default), first the class's
    tutorial example when it has none (its lowest-id gold image, never served as a gold check),
    so the ``n`` returned are all served as checks."""
    if checks and not Image.objects.filter(project=project, is_gold=True, gold_label=label).exists():
        make_images(project, 1, is_gold=True, gold_label=label)
    return make_images(project, n, is_gold=True, gold_label=label)


def make_real_image(project: Project, *, size: tuple[int, int] = (1024, 768)) -> Image:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (200, 120, 40)).save(buffer, format="JPEG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data + str(next(_serial)).encode()).hexdigest()
    return image_from_bytes(project, data, width=size[0], height=size[1], sha256=sha, status=ImageStatus.READY)


def assert_counters_consistent(project: Project) -> None:
    """Image.counted_votes equals its counted Vote rows, Image.reserved its open Assignments,
    and no image is over its wanted count."""
    images = Image.objects.filter(project=project).annotate(
        n_counted=Count("votes", filter=Q(votes__counted=True), distinct=True),
        n_open=Count("assignments", filter=Q(assignments__status=AssignmentStatus.OPEN), distinct=True),
    )
    for image in images:
        assert image.counted_votes == image.n_counted, f"image {image.pk}: counted_votes out of step"
        assert image.reserved == image.n_open, f"image {image.pk}: reserved out of step"
        assert image.counted_votes <= image.votes_wanted


def open_assignments(user: User) -> list[Assignment]:
    return list(Assignment.objects.filter(annotator=user, status=AssignmentStatus.OPEN))


def votes_of(user: User) -> list[Vote]:
    return list(Vote.objects.filter(annotator=user).order_by("id"))

"""Rows for the reliability tests (plain functions, real database rows)."""

from __future__ import annotations

import hashlib
import itertools

from django.contrib.auth.models import Group, User

from annotation.models import Image, ImageStatus, Project, Vote

_serial = itertools.count(1)


def make_user(role: str | None = None) -> User:
    user = User.objects.create_user(username=f"rel-user{next(_serial)}", password=None)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_project(**fields) -> Project:
    fields.setdefault("name", f"reliability project {next(_serial)}")
    fields.setdefault("votes_wanted", 10)
    return Project.objects.create(**fields)


def make_images(project: Project, n: int, **fields) -> list[Image]:
    fields.setdefault("status", ImageStatus.READY)
    rows = []
    for _ in range(n):
        sha = hashlib.sha256(f"rel image {next(_serial)}".encode()).hexdigest()
        rows.append(
            Image(
                project=project,
                file=f"images/{project.pk}/{sha}.jpg",
                sha256=sha,
                size_bytes=1000,
                width=640,
                height=480,
                votes_wanted=project.votes_wanted,
                **fields,
            )
        )
    return Image.objects.bulk_create(rows)


def add_votes(image: Image, annotators: list[User], labels: list[int], **fields) -> None:
    Vote.objects.bulk_create(
        [Vote(image=image, annotator=a, label=lab, **fields) for a, lab in zip(annotators, labels, strict=True)]
    )
    if fields.get("counted", True) and not fields.get("is_gold", False):
        Image.objects.filter(pk=image.pk).update(counted_votes=image.counted_votes + len(labels))
        image.refresh_from_db()

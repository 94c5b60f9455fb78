"""Rows for the reliability tests (plain functions, real database rows)."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import User

from annotation.models import Image, Project, Vote
from tests.annotation import factories

_serial = itertools.count(1)


def make_user(role: str | None = None) -> User:
    return factories.make_user(role)


def make_project(**fields) -> Project:
    fields.setdefault("name", f"reliability project {next(_serial)}")
    fields.setdefault("votes_wanted", 10)
    return Project.objects.create(**fields)


def make_images(project: Project, n: int, **fields) -> list[Image]:
    return factories.make_images(project, n, **fields)


def add_votes(image: Image, annotators: list[User], labels: list[int], **fields) -> None:
    Vote.objects.bulk_create(
        [Vote(image=image, annotator=a, label=lab, **fields) for a, lab in zip(annotators, labels, strict=True)]
    )
    if fields.get("counted", True) and not fields.get("is_gold", False):
        Image.objects.filter(pk=image.pk).update(counted_votes=image.counted_votes + len(labels))
        image.refresh_from_db()

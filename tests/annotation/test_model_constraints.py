"""The invariants that live in the database itself, checked below the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from annotation.models import Face, Image, Job, Project, ReliabilityRun, Vote

pytestmark = pytest.mark.django_db


def make_image(project: Project, sha: str = "a" * 64, **fields) -> Image:
    defaults = dict(file="images/x.jpg", size_bytes=10, width=10, height=10, votes_wanted=project.votes_wanted)
    defaults.update(fields)
    return Image.objects.create(project=project, sha256=sha, **defaults)


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="p", votes_wanted=2)


def test_it_refuses_a_second_vote_by_the_same_annotator(project: Project) -> None:
    image = make_image(project)
    user = User.objects.create(username="u")
    Vote.objects.create(image=image, annotator=user, label=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(image=image, annotator=user, label=2)


def test_it_refuses_more_counted_votes_than_wanted(project: Project) -> None:
    image = make_image(project, counted_votes=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(counted_votes=3)


def test_it_refuses_negative_counts(project: Project) -> None:
    image = make_image(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(reserved=-1)


def test_it_refuses_the_same_photo_twice_in_a_project(project: Project) -> None:
    make_image(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_image(project)
    other = Project.objects.create(name="q")
    make_image(other)  # the same photo may belong to another project


def test_it_never_counts_a_gold_vote(project: Project) -> None:
    image = make_image(project, is_gold=True, gold_label=3)
    user = User.objects.create(username="u")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(image=image, annotator=user, label=3, is_gold=True, counted=True)


def test_it_requires_a_gold_label_on_gold_images(project: Project) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make_image(project, is_gold=True)


def test_it_allows_one_main_face_per_image(project: Project) -> None:
    image = make_image(project)
    Face.objects.create(image=image, is_main=True, x1=0, y1=0, x2=5, y2=5)
    Face.objects.create(image=image, is_main=False, x1=1, y1=1, x2=5, y2=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Face.objects.create(image=image, is_main=True, x1=0, y1=0, x2=6, y2=6)


def test_it_refuses_an_empty_face_box(project: Project) -> None:
    image = make_image(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Face.objects.create(image=image, x1=5, y1=0, x2=5, y2=5)


def test_it_allows_one_current_reliability_run_per_project(project: Project) -> None:
    ReliabilityRun.objects.create(project=project, succeeded=True, is_current=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReliabilityRun.objects.create(project=project, succeeded=True, is_current=True)


def test_it_refuses_a_failed_run_as_current(project: Project) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ReliabilityRun.objects.create(project=project, succeeded=False, is_current=True)


def test_it_keeps_job_progress_between_0_and_1() -> None:
    job = Job.objects.create(kind="import")
    with pytest.raises(IntegrityError), transaction.atomic():
        Job.objects.filter(pk=job.pk).update(progress=1.5)

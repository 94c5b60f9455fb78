"""The vote counters the database keeps on Qualification (migration 0006): whatever writes,
changes or deletes votes, ``votes_total``, ``votes_before_day``, ``gold_seen`` and
``gold_correct`` equal what counting the votes gives; the progress reads them instead of
counting. Runs on SQLite (row triggers) and on Postgres (statement triggers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from annotation.models import Qualification, Vote
from annotation.services.assignment import assignment_claim_next
from annotation.services.progress import annotator_progress, annotator_vote_counts
from annotation.services.simulation import votes_simulate
from annotation.services.votes import vote_create
from tests.annotation.factories import make_annotator, make_gold, make_images, make_project

pytestmark = pytest.mark.django_db


def assert_counters_match_the_votes() -> None:
    for q in Qualification.objects.all():
        votes = Vote.objects.filter(annotator_id=q.annotator_id, image__project_id=q.project_id)
        counted = votes.aggregate(
            total=Count("id"),
            before=Count("id", filter=Q(created_at__lt=q.day_start)) if q.day_start else Count("id", filter=Q(pk=None)),
            gold=Count("id", filter=Q(is_gold=True)),
        )
        correct = sum(1 for v in votes.filter(is_gold=True).select_related("image") if v.label == v.image.gold_label)
        assert (q.votes_total, q.votes_before_day, q.gold_seen, q.gold_correct) == (
            counted["total"],
            counted["before"],
            counted["gold"],
            correct,
        ), f"qualification of annotator {q.annotator_id} in project {q.project_id}"


def midnight_today():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def test_the_counters_follow_every_way_votes_are_written_changed_and_deleted():
    project, other = make_project(gold_rate=0.0, votes_wanted=5), make_project(gold_rate=0.0)
    images = make_images(project, 6)
    gold = make_gold(project, 2, label=3)
    elsewhere = make_images(other, 2)
    user, colleague = make_annotator(project), make_annotator(project)
    Qualification.objects.create(annotator=user, project=other)
    # The service's general path, a gold vote among them (right, then wrong).
    for assignment in assignment_claim_next(annotator=user, project=project, count=2):
        vote_create(annotator=user, assignment=assignment, label=1, time_taken_ms=500)
    voted = set(Vote.objects.filter(annotator=user).values_list("image_id", flat=True))
    images = [image for image in images if image.pk not in voted]  # 4 left
    Vote.objects.create(image=gold[0], annotator=user, label=3, is_gold=True, counted=False)
    Vote.objects.create(image=gold[1], annotator=user, label=0, is_gold=True, counted=False)
    # Rows written directly, one at a time and in bulk; votes in another project count there.
    Vote.objects.create(image=images[2], annotator=colleague, label=2)
    Vote.objects.bulk_create([Vote(image=images[3], annotator=user, label=2), *(
        Vote(image=image, annotator=user, label=0) for image in elsewhere
    )])  # fmt: skip
    assert_counters_match_the_votes()
    q = Qualification.objects.get(annotator=user, project=project)
    assert (q.votes_total, q.gold_seen, q.gold_correct) == (5, 2, 1)
    assert Qualification.objects.get(annotator=user, project=other).votes_total == 2
    # A relabelled gold vote is scored again; a vote moved to another day moves across the line.
    q.day_start = midnight_today()
    q.save(update_fields=["day_start"])
    Vote.objects.filter(image=gold[1], annotator=user).update(label=3)
    Vote.objects.filter(image=images[3], annotator=user).update(created_at=q.day_start - timedelta(hours=2))
    assert_counters_match_the_votes()
    q.refresh_from_db()
    assert (q.gold_correct, q.votes_before_day) == (2, 1)
    # Deleted votes, one and many; an image deleted with its votes.
    Vote.objects.filter(image=gold[0], annotator=user).delete()
    Vote.objects.filter(image__in=elsewhere).delete()
    images[2].delete()
    assert_counters_match_the_votes()
    assert Qualification.objects.get(annotator=colleague, project=project).votes_total == 0


def test_the_counters_follow_the_simulations_bulk_insert():
    project = make_project(votes_wanted=4)
    make_images(project, 25)
    votes_simulate(project=project, annotators=6, seed=3)
    assert Vote.objects.filter(image__project=project).count() == 100
    assert_counters_match_the_votes()
    assert sum(Qualification.objects.filter(project=project).values_list("votes_total", flat=True)) == 100


def test_the_progress_reads_the_counters_and_starts_each_day_once():
    project = make_project(gold_rate=0.0, votes_wanted=5)
    images = make_images(project, 5)
    user = make_annotator(project)
    midnight = midnight_today()
    yesterday = [Vote.objects.create(image=image, annotator=user, label=1) for image in images[:3]]
    Vote.objects.filter(pk__in=[v.pk for v in yesterday]).update(created_at=midnight - timedelta(hours=3))
    Vote.objects.create(image=images[3], annotator=user, label=1)
    progress = annotator_progress(annotator=user, project=project)
    assert (progress.today, progress.total) == (1, 4)
    q = Qualification.objects.get(annotator=user, project=project)
    assert (q.day_start, q.votes_before_day, q.votes_total) == (midnight, 3, 4)
    # The day has started: a new vote counts from the counters alone.
    Vote.objects.create(image=images[4], annotator=user, label=1)
    assert annotator_vote_counts(annotator_id=user.pk, project_id=project.pk, midnight=midnight) == (2, 5)
    # The next day starts from the counters' state: everything so far is before it.
    tomorrow = midnight + timedelta(days=1)
    assert annotator_vote_counts(annotator_id=user.pk, project_id=project.pk, midnight=tomorrow) == (0, 5)
    assert_counters_match_the_votes()


def test_without_a_qualification_the_progress_counts_the_votes():
    project = make_project(gold_rate=0.0)
    [image] = make_images(project, 1)
    user = make_annotator(project)
    Qualification.objects.filter(annotator=user).delete()
    Vote.objects.create(image=image, annotator=user, label=1)
    progress = annotator_progress(annotator=user, project=project)
    assert (progress.today, progress.total) == (1, 1)

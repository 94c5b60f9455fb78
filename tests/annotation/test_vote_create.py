"""vote_create: own reservation only, label checked, late votes kept, gold scored, DB invariants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, Qualification, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.services.assignment import assignment_claim_next, assignments_release_expired
from annotation.services.votes import LATE_NOTICE, vote_create
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
)

pytestmark = pytest.mark.django_db


def _claimed(project, user=None):
    user = user or make_annotator(project)
    [assignment] = assignment_claim_next(annotator=user, project=project)
    return user, Assignment.objects.select_related("image__project").get(pk=assignment.pk)


def test_it_counts_a_vote_on_a_live_reservation():
    project = make_project(votes_wanted=3)
    make_images(project, 1)
    user, assignment = _claimed(project)
    outcome = vote_create(annotator=user, assignment=assignment, label=4, time_taken_ms=1200)
    assert outcome.notice is None
    vote = Vote.objects.get(pk=outcome.vote.pk)
    assert (vote.label, vote.counted, vote.late, vote.time_taken_ms) == (4, True, False, 1200)
    image = Image.objects.get(pk=assignment.image_id)
    assert (image.counted_votes, image.reserved) == (1, 0)
    assert Assignment.objects.get(pk=assignment.pk).status == AssignmentStatus.VOTED
    assert_counters_consistent(project)


def test_it_rejects_a_vote_on_someone_elses_assignment():
    project = make_project()
    make_images(project, 1)
    _, assignment = _claimed(project)
    intruder = make_annotator(project)
    with pytest.raises(ServiceError) as caught:
        vote_create(annotator=intruder, assignment=assignment, label=0, time_taken_ms=1)
    assert caught.value.code == "not_your_assignment" and caught.value.status_code == 403
    assert not Vote.objects.exists()


@pytest.mark.parametrize("label", [-1, 7, 99, True, "2", 1.5, None])
def test_it_rejects_a_label_outside_the_project_classes(label):
    project = make_project()
    make_images(project, 1)
    user, assignment = _claimed(project)
    with pytest.raises(ServiceError) as caught:
        vote_create(annotator=user, assignment=assignment, label=label, time_taken_ms=1)
    assert caught.value.code == "invalid_label"
    assert not Vote.objects.exists()
    assert Image.objects.get(pk=assignment.image_id).reserved == 1


def test_it_accepts_the_classes_of_a_custom_project():
    project = make_project(classes=["yes", "no"])
    make_images(project, 2)
    user, assignment = _claimed(project)
    vote_create(annotator=user, assignment=assignment, label=1, time_taken_ms=1)
    _, other = _claimed(project, user)
    with pytest.raises(ServiceError):
        vote_create(annotator=user, assignment=other, label=2, time_taken_ms=1)


def test_it_rejects_a_second_vote_by_the_same_annotator():
    project = make_project()
    make_images(project, 1)
    user, assignment = _claimed(project)
    vote_create(annotator=user, assignment=assignment, label=0, time_taken_ms=1)
    with pytest.raises(ServiceError) as caught:
        vote_create(annotator=user, assignment=assignment, label=1, time_taken_ms=1)
    assert caught.value.code == "already_voted" and caught.value.status_code == 409
    assert Vote.objects.count() == 1
    assert_counters_consistent(project)


def test_it_still_counts_an_expired_vote_while_the_image_needs_votes():
    project = make_project(votes_wanted=2)
    make_images(project, 1)
    user, assignment = _claimed(project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    assert assignments_release_expired() == 1
    assignment.refresh_from_db()
    outcome = vote_create(annotator=user, assignment=assignment, label=2, time_taken_ms=1)
    assert outcome.vote.counted and not outcome.vote.late and outcome.notice is None
    assert Image.objects.get(pk=assignment.image_id).counted_votes == 1
    assert_counters_consistent(project)


def test_it_counts_a_vote_past_expiry_that_was_not_yet_released():
    project = make_project(votes_wanted=1)
    make_images(project, 1)
    user, assignment = _claimed(project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    outcome = vote_create(annotator=user, assignment=assignment, label=2, time_taken_ms=1)
    assert outcome.vote.counted
    assert_counters_consistent(project)


def test_it_keeps_a_late_vote_uncounted_when_the_image_is_full():
    project = make_project(votes_wanted=1)
    make_images(project, 1)
    slow, assignment = _claimed(project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    fast, other = _claimed(project)  # the claim released the expired reservation
    assert other.image_id == assignment.image_id
    vote_create(annotator=fast, assignment=other, label=0, time_taken_ms=1)
    assignment.refresh_from_db()
    outcome = vote_create(annotator=slow, assignment=assignment, label=5, time_taken_ms=1)
    assert outcome.notice == LATE_NOTICE
    vote = Vote.objects.get(pk=outcome.vote.pk)
    assert (vote.counted, vote.late, vote.label) == (False, True, 5)
    image = Image.objects.get(pk=assignment.image_id)
    assert image.counted_votes == image.votes_wanted == 1
    assert_counters_consistent(project)


def test_it_keeps_a_late_vote_uncounted_while_live_reservations_hold_the_remaining_slots():
    project = make_project(votes_wanted=1)
    make_images(project, 1)
    slow, assignment = _claimed(project)
    Assignment.objects.filter(pk=assignment.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    _claimed(project)  # someone else holds the only slot now
    assignment.refresh_from_db()
    outcome = vote_create(annotator=slow, assignment=assignment, label=1, time_taken_ms=1)
    assert outcome.vote.late and not outcome.vote.counted
    assert_counters_consistent(project)


def test_it_scores_a_gold_vote_and_never_counts_it():
    project = make_project(gold_rate=1.0)
    [gold] = make_gold(project, 1, label=3)
    make_images(project, 1)
    user = make_annotator(project)
    [a] = assignment_claim_next(annotator=user, project=project)
    assert a.image_id == gold.pk
    a = Assignment.objects.select_related("image__project").get(pk=a.pk)
    outcome = vote_create(annotator=user, assignment=a, label=3, time_taken_ms=1)
    assert outcome.vote.is_gold and not outcome.vote.counted
    q = Qualification.objects.get(annotator=user, project=project)
    assert (q.gold_seen, q.gold_correct) == (1, 1)
    assert Image.objects.get(pk=gold.pk).counted_votes == 0
    assert_counters_consistent(project)


def test_it_scores_a_wrong_gold_vote():
    project = make_project(gold_rate=1.0)
    make_gold(project, 1, label=3)
    user = make_annotator(project)
    [a] = assignment_claim_next(annotator=user, project=project)
    vote_create(annotator=user, assignment=Assignment.objects.get(pk=a.pk), label=0, time_taken_ms=1)
    q = Qualification.objects.get(annotator=user, project=project)
    assert (q.gold_seen, q.gold_correct) == (1, 0)


def test_the_database_refuses_an_image_over_its_wanted_count():
    project = make_project(votes_wanted=1)
    [image] = make_images(project, 1)
    Image.objects.filter(pk=image.pk).update(counted_votes=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.filter(pk=image.pk).update(counted_votes=2)


def test_the_database_refuses_two_votes_by_one_annotator_on_one_image():
    project = make_project()
    [image] = make_images(project, 1)
    user = make_annotator(project)
    Vote.objects.create(image=image, annotator=user, label=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(image=image, annotator=user, label=1)

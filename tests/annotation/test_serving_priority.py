"""Uncertain images first (issue 14): the live update stores each image's serving priority and
the claim statement serves, among equally loaded images, the most uncertain first; a fixed
project's order is untouched."""

from __future__ import annotations

import numpy as np
import pytest

from annotation.models import Image, Vote
from annotation.models.image import PRIORITY_UNKNOWN
from annotation.services.assignment import assignment_claim_next
from annotation.services.live_reliability import dense_index, live_reliability_update, serving_priority
from reliability.adaptive import VotePrior
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project

pytestmark = [pytest.mark.django_db]


def put_votes(image, annotators, labels) -> None:
    Vote.objects.bulk_create(
        Vote(image=image, annotator=user, label=label, time_taken_ms=1500)
        for user, label in zip(annotators, labels, strict=False)
    )
    Image.objects.filter(pk=image.pk).update(counted_votes=min(len(annotators), len(labels)))


def crowd(project):
    """Five annotators who agree on clear images and split on ambiguous ones: 3 clear and 3
    ambiguous images with 5 votes each, one clear image with 4, one image without votes."""
    annotators = [make_annotator(project) for _ in range(5)]
    clear, ambiguous, fewer, empty = (
        make_images(project, 3),
        make_images(project, 3),
        make_images(project, 1),
        make_images(project, 1),
    )
    for image in clear:
        put_votes(image, annotators, [3] * 5)
    for image in ambiguous:
        put_votes(image, annotators, [0, 1, 2, 4, 5])
    put_votes(fewer[0], annotators[:4], [3] * 4)
    return clear, ambiguous, fewer[0], empty[0]


def test_an_adaptive_project_serves_the_least_loaded_then_the_most_uncertain_images_first():
    project = make_project(votes_wanted=40, allocation="adaptive", min_votes=10)
    clear, ambiguous, fewer, empty = crowd(project)
    assert live_reliability_update(project=project) is not None

    priority = dict(Image.objects.filter(project=project).values_list("pk", "priority"))
    assert priority[empty.pk] == PRIORITY_UNKNOWN  # no update has seen it: the most uncertain
    assert min(priority[i.pk] for i in ambiguous) > max(priority[i.pk] for i in clear)
    assert all(0 <= p <= PRIORITY_UNKNOWN for p in priority.values())

    newcomer = make_annotator(project)
    first = {a.image_id for a in assignment_claim_next(annotator=newcomer, project=project, count=2)}
    # Equal assignment first: the image without votes (load 0), then the one with 4 votes,
    # however certain it is; only then, among the images with 5 votes, the uncertain ones.
    assert first == {empty.pk, fewer.pk}
    second = {a.image_id for a in assignment_claim_next(annotator=newcomer, project=project, count=2)}
    assert len(second) == 2 and second <= {i.pk for i in ambiguous}
    assert_counters_consistent(project)


def test_claims_take_the_uncertain_images_of_equal_load_first_and_never_repeat():
    project = make_project(votes_wanted=40, allocation="adaptive", min_votes=10)
    clear, ambiguous, fewer, empty = crowd(project)
    Image.objects.filter(pk__in=[fewer.pk, empty.pk]).delete()
    Vote.objects.filter(image_id__in=[fewer.pk, empty.pk]).delete()
    live_reliability_update(project=project)
    user = make_annotator(project)
    claimed = []
    for _ in range(3):
        claimed += [a.image_id for a in assignment_claim_next(annotator=user, project=project, count=1)]
    assert set(claimed) == {i.pk for i in ambiguous}  # all of equal load 5: uncertain first
    assert len(set(claimed)) == len(claimed)


def test_a_fixed_project_keeps_every_image_at_the_same_priority():
    project = make_project(votes_wanted=40, allocation="fixed")
    crowd(project)
    live_reliability_update(project=project)
    assert set(Image.objects.filter(project=project).values_list("priority", flat=True)) == {PRIORITY_UNKNOWN}


def test_a_project_switched_back_to_fixed_gets_its_priorities_reset():
    project = make_project(votes_wanted=40, allocation="adaptive", min_votes=10)
    crowd(project)
    live_reliability_update(project=project)
    assert len(set(Image.objects.filter(project=project).values_list("priority", flat=True))) > 1
    project.allocation = "fixed"
    project.save(update_fields=["allocation"])
    live_reliability_update(project=project)
    assert set(Image.objects.filter(project=project).values_list("priority", flat=True)) == {PRIORITY_UNKNOWN}


def test_the_priority_is_the_predictive_entropy_in_hundredths_of_its_largest_value():
    prior = VotePrior(alpha=np.full(7, 0.3))
    counts = np.array([[0.0] * 7, [40, 0, 0, 0, 0, 0, 0], [20, 20, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0, 0]])
    priority = serving_priority(counts, prior=prior)
    assert priority[0] == PRIORITY_UNKNOWN  # no votes: the largest entropy
    assert priority[1] < priority[2] < priority[3] < PRIORITY_UNKNOWN
    assert priority.tolist() == [100, 13, 45, 94]  # 100 H / ln 7 under Dirichlet(0.3) smoothing


def test_dense_index_is_unique_with_inverse():
    rng = np.random.default_rng(0)
    for ids in (rng.integers(5, 40, 200), np.array([10**12, 3, 10**12, 7]), np.zeros(0, dtype=np.int64)):
        distinct, inverse = dense_index(ids)
        expected, expected_inverse = np.unique(ids, return_inverse=True)
        assert np.array_equal(distinct, expected) and np.array_equal(inverse, expected_inverse)

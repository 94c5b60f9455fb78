"""assignment_claim_next: least loaded first, random tie-break, never twice, gated, expiring."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, ImageStatus
from annotation.models.assignment import AssignmentStatus
from annotation.services.assignment import (
    MAX_OPEN_PER_ANNOTATOR,
    assignment_claim_next,
    assignments_release_expired,
)
from annotation.services.votes import vote_create
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_it_refuses_an_annotator_who_is_not_qualified():
    project = make_project()
    make_images(project, 3)
    user = make_user("annotator")
    with pytest.raises(ServiceError) as caught:
        assignment_claim_next(annotator=user, project=project)
    assert caught.value.code == "not_qualified" and caught.value.status_code == 403
    assert not Assignment.objects.exists()


def test_it_reserves_an_image_and_counts_the_reservation():
    project = make_project(reservation_timeout_s=300)
    make_images(project, 3)
    user = make_annotator(project)
    [assignment] = assignment_claim_next(annotator=user, project=project)
    assert assignment.annotator == user and assignment.status == AssignmentStatus.OPEN
    assert timedelta(seconds=290) < assignment.expires_at - timezone.now() <= timedelta(seconds=300)
    assert Image.objects.get(pk=assignment.image_id).reserved == 1
    assert_counters_consistent(project)


def test_it_serves_the_least_loaded_images_first():
    project = make_project(votes_wanted=5)
    busy = make_images(project, 3)
    Image.objects.filter(pk__in=[i.pk for i in busy]).update(counted_votes=2)
    idle = make_images(project, 2)
    user = make_annotator(project)
    claimed = assignment_claim_next(annotator=user, project=project, count=2)
    assert {a.image_id for a in claimed} == {i.pk for i in idle}


def test_it_spreads_votes_equally_over_the_images():
    project = make_project(votes_wanted=3)
    images = make_images(project, 4)
    for _ in range(3):
        for _ in range(4):
            user = make_annotator(project)
            [a] = assignment_claim_next(annotator=user, project=project)
            vote_create(annotator=user, assignment=a, label=0, time_taken_ms=10)
    assert sorted(Image.objects.filter(pk__in=[i.pk for i in images]).values_list("counted_votes", flat=True)) == [
        3,
        3,
        3,
        3,
    ]


def test_it_breaks_ties_at_random():
    project = make_project(votes_wanted=40)
    images = make_images(project, 5)
    first_picks = Counter()
    for _ in range(40):
        user = make_annotator(project)
        [a] = assignment_claim_next(annotator=user, project=project)
        first_picks[a.image_id] += 1
        a.delete()  # undo, so the next annotator sees the same loads
        Image.objects.filter(pk=a.image_id).update(reserved=0)
    # Each claim re-draws the served image's random key, so first picks move around instead
    # of following a fixed order (ids or insertion).
    assert len(first_picks) >= 3
    assert set(first_picks) <= {i.pk for i in images}


def test_it_never_serves_an_image_twice_to_the_same_annotator():
    project = make_project(votes_wanted=10)
    make_images(project, 3)
    user = make_annotator(project)
    seen = []
    for _ in range(3):
        [a] = assignment_claim_next(annotator=user, project=project)
        vote_create(annotator=user, assignment=a, label=1, time_taken_ms=5)
        seen.append(a.image_id)
    assert len(set(seen)) == 3
    assert assignment_claim_next(annotator=user, project=project) == []


def test_it_skips_images_that_have_all_their_votes_or_reservations():
    project = make_project(votes_wanted=2)
    [full] = make_images(project, 1)
    Image.objects.filter(pk=full.pk).update(counted_votes=1, reserved=1)
    make_images(project, 1, status=ImageStatus.NEEDS_FACE)
    user = make_annotator(project)
    assert assignment_claim_next(annotator=user, project=project) == []


def test_it_caps_the_live_reservations_of_one_annotator():
    project = make_project()
    make_images(project, 10)
    user = make_annotator(project)
    for _ in range(MAX_OPEN_PER_ANNOTATOR):
        assignment_claim_next(annotator=user, project=project)
    assert assignment_claim_next(annotator=user, project=project) == []
    resumed = assignment_claim_next(annotator=user, project=project, count=2, resume=True)
    assert len(resumed) == 2 and all(a.status == AssignmentStatus.OPEN for a in resumed)


def test_it_rejects_a_bad_count():
    project = make_project()
    user = make_annotator(project)
    with pytest.raises(ServiceError) as caught:
        assignment_claim_next(annotator=user, project=project, count=3)
    assert caught.value.code == "invalid_count"


def test_it_returns_expired_reservations_to_the_pool():
    project = make_project(votes_wanted=1)
    [image] = make_images(project, 1)
    first, second = make_annotator(project), make_annotator(project)
    [a] = assignment_claim_next(annotator=first, project=project)
    assert assignment_claim_next(annotator=second, project=project) == []
    Assignment.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    [b] = assignment_claim_next(annotator=second, project=project)
    assert b.image_id == image.pk
    assert Assignment.objects.get(pk=a.pk).status == AssignmentStatus.EXPIRED
    assert_counters_consistent(project)


def test_it_releases_expired_reservations_in_the_periodic_task():
    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    claimed = assignment_claim_next(annotator=user, project=project, count=2)
    Assignment.objects.filter(pk__in=[a.pk for a in claimed]).update(expires_at=timezone.now())
    from annotation.tasks import assignments_release_expired_task

    assert assignments_release_expired_task.apply().get() == 2
    assert assignments_release_expired() == 0
    assert_counters_consistent(project)


def test_it_mixes_in_gold_images_at_the_gold_rate():
    project = make_project(gold_rate=1.0)
    make_images(project, 3)
    gold = make_gold(project, 2)
    user = make_annotator(project)
    claimed = assignment_claim_next(annotator=user, project=project, count=2)
    assert {a.image_id for a in claimed} == {g.pk for g in gold}
    assert all(a.is_gold for a in claimed)
    # Gold exhausted for this annotator: regular images fill in.
    [regular] = assignment_claim_next(annotator=user, project=project)
    assert not regular.is_gold
    assert_counters_consistent(project)


def test_it_serves_no_gold_at_rate_zero():
    project = make_project(gold_rate=0.0)
    make_images(project, 2)
    make_gold(project, 5)
    user = make_annotator(project)
    assert not any(a.is_gold for a in assignment_claim_next(annotator=user, project=project, count=2))


def test_it_claims_in_a_bounded_number_of_queries():
    project = make_project()
    make_images(project, 50)
    user = make_annotator(project)
    with CaptureQueriesContext(connection) as queries:
        assignment_claim_next(annotator=user, project=project, count=2)
    assert len(queries) <= 12, [q["sql"] for q in queries]


def test_it_reads_the_least_loaded_images_from_the_index_without_sorting():
    from django.db import connection as conn

    from annotation.services.assignment import CLAIM_SQL

    project = make_project()
    make_images(project, 3000)
    user = make_annotator(project)
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE annotation_image")
        now = timezone.now()
        params = {"project": project.pk, "annotator": user.pk, "draws": [False, True], "gold_from": 0.5,
                  "tutorial_examples": [], "now": now, "expires_at": now, "max_open": 4, "voted": 0}  # fmt: skip
        raw_plans = []
        for sql in CLAIM_SQL.values():
            cursor.execute("EXPLAIN " + sql, params)
            raw_plans.append("\n".join(row[0] for row in cursor.fetchall()))
    for plan in raw_plans:
        assert "image_assign_load_idx" in plan, plan
        sorts = [line for line in plan.splitlines() if "Sort Key" in line]
        assert not any("random_key" in line or "counted_votes" in line for line in sorts), plan
    for raw_plan in raw_plans:
        assert "LockRows" in raw_plan, raw_plan


def test_it_fills_only_the_slots_under_the_cap_in_draw_order():
    from annotation.services.assignment import MAX_OPEN_PER_ANNOTATOR

    project = make_project(gold_rate=0.0)
    make_images(project, 10)
    gold = {image.pk for image in make_gold(project, 3)}
    user = make_annotator(project)
    held = []
    while len(held) < MAX_OPEN_PER_ANNOTATOR - 1:
        held += assignment_claim_next(annotator=user, project=project, count=1)
    assert not any(a.is_gold for a in held)
    # One slot left: the first draw (regular) is used, the second (gold) is not.
    [claimed] = assignment_claim_next(annotator=user, project=project, count=2, gold_draws=[False, True])
    assert not claimed.is_gold and claimed.image_id not in gold
    assert assignment_claim_next(annotator=user, project=project, count=2, gold_draws=[True, True]) == []
    # Freed slots, gold drawn: gold images, flagged on the assignment and the returned image.
    Assignment.objects.filter(pk__in=[a.pk for a in held]).update(status=AssignmentStatus.EXPIRED)
    claimed = assignment_claim_next(annotator=user, project=project, count=2, gold_draws=[True, True])
    assert len(claimed) == 2 and all(a.is_gold and a.image.is_gold and a.image_id in gold for a in claimed)
    assert all(Assignment.objects.get(pk=a.pk).is_gold for a in claimed)
    assert Image.objects.filter(pk__in=gold, reserved=1).count() == 2

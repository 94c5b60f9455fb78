"""Dashboard reads: counts by status, votes vs wanted, votes per hour, the annotator table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Qualification, Vote
from annotation.selectors.dashboard import (
    annotator_table,
    annotators_active,
    dashboard_stats,
    dashboard_stats_cached,
    images_by_status,
    votes_collected,
    votes_per_hour,
)
from tests.factories import make_image, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return make_project(votes_wanted=5)


def test_it_counts_images_by_status_and_keeps_gold_apart(project):
    make_image(project=project)
    make_image(project=project, status="needs_face")
    make_image(project=project, status="rejected")
    make_image(project=project, gold_label=2)
    assert images_by_status(project=project) == {"needs_face": 1, "ready": 1, "retired": 0, "rejected": 1, "gold": 1}


def test_it_sets_counted_votes_against_the_wanted_votes_of_servable_images(project):
    make_image(project=project, counted_votes=3)
    make_image(project=project, status="retired", counted_votes=5)
    make_image(project=project, status="rejected", counted_votes=1)
    make_image(project=project, gold_label=0)
    assert votes_collected(project=project) == {"collected": 8, "wanted": 10}


def test_it_buckets_votes_per_hour_over_the_last_day(project):
    image = make_image(project=project)
    now = timezone.now()
    for hours_ago in (0, 0, 3, 30):
        vote = Vote.objects.create(image=image, annotator=make_user(), label=1)
        Vote.objects.filter(pk=vote.pk).update(created_at=now - timedelta(hours=hours_ago))
    points = votes_per_hour(project=project)
    assert len(points) == 24 and [p["votes"] for p in points][-4:] == [1, 0, 0, 2]
    assert sum(p["votes"] for p in points) == 3


def test_it_tabulates_annotators_with_gold_accuracy_and_median_time(project):
    fast, slow = make_user(), make_user()
    for taken in (400, 600, 800):
        Vote.objects.create(image=make_image(project=project), annotator=fast, label=0, time_taken_ms=taken)
    Vote.objects.create(image=make_image(project=project), annotator=slow, label=0, time_taken_ms=5000, counted=False)
    Qualification.objects.create(annotator=fast, project=project, gold_seen=4, gold_correct=3)
    rows = annotator_table(project=project)
    assert [(r["username"], r["votes"], r["counted"]) for r in rows] == [(fast.username, 3, 3), (slow.username, 1, 0)]
    assert (rows[0]["median_time_ms"], rows[0]["gold_accuracy"], rows[0]["reliability"]) == (600.0, 0.75, None)
    assert rows[1]["gold_accuracy"] is None
    assert annotators_active(project=project) == 2


def test_it_serves_cached_figures_for_a_while(project):
    image = make_image(project=project)
    before = dashboard_stats_cached(project=project)
    Vote.objects.create(image=image, annotator=make_user(), label=0)
    assert dashboard_stats_cached(project=project)["annotators"] == before["annotators"] == []
    assert len(dashboard_stats(project=project)["annotators"]) == 1

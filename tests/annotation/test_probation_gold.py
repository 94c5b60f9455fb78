"""Probation: an annotator's first answers in a project get gold checks at the probation rate,
on the vote path's merged claim as on a plain claim; then the project's gold rate."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.services import assignment as assignment_service
from annotation.services.assignment import assignment_claim_next, gold_rate_for
from tests.annotation.factories import make_annotator, make_gold, make_images, make_project

pytestmark = [pytest.mark.django_db]


def forget_memos():
    assignment_service._past_probation.clear()
    assignment_service._answers_in_probation.clear()


@pytest.fixture(autouse=True)
def fresh_memo():
    forget_memos()
    yield
    forget_memos()


def test_the_first_answers_are_all_gold_then_none_at_a_tiny_rate():
    # A probation rate of 1 and a project rate of (almost) 0 make the draws certain.
    project = make_project(gold_rate=1e-9, probation_answers=3, probation_gold_rate=1.0, votes_wanted=5)
    make_images(project, 10)
    make_gold(project, 6)
    client = APIClient()
    user = make_annotator(project)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    body = client.post(reverse("api:project-claim", args=[project.pk]), {"count": 1}, format="json").json()
    served = []
    current = body["assignments"][0]
    for _ in range(6):
        served.append(current["image"]["id"])
        response = client.post(
            reverse("api:assignment-vote", args=[current["id"]]),
            {"label": 3, "time_taken_ms": 900, "next": 1},
            format="json",
        )
        assert response.status_code == 201, response.json()
        current = response.json()["next"][0]
    gold_ids = set(project.images.filter(is_gold=True).values_list("id", flat=True))
    # Each vote claims the next image before its own answer is recorded (the page works one image
    # ahead): images 1-4 were drawn with 0, 0, 1 and 2 answers recorded (in probation), 5-6 after.
    assert [image_id in gold_ids for image_id in served] == [True, True, True, True, False, False]


def test_the_rate_follows_the_answers_and_each_setting():
    project = make_project(gold_rate=0.05, probation_answers=2, probation_gold_rate=0.5)
    user = make_annotator(project)
    assert gold_rate_for(annotator=user, project=project) == 0.5
    qualification = user.qualifications.get(project=project)
    qualification.votes_total = 2
    qualification.save(update_fields=["votes_total"])
    forget_memos()  # answers given through another process: this one learns them within PROBATION_MEMO_S
    assert gold_rate_for(annotator=user, project=project) == 0.05
    # A project without gold checks has no probation either, and 0 answers turns it off.
    no_gold = make_project(gold_rate=0.0, probation_answers=30, probation_gold_rate=0.5)
    assert gold_rate_for(annotator=make_annotator(no_gold), project=no_gold) == 0.0
    off = make_project(gold_rate=0.05, probation_answers=0, probation_gold_rate=0.5)
    assert gold_rate_for(annotator=make_annotator(off), project=off) == 0.05


def test_a_plain_claim_draws_at_the_probation_rate():
    project = make_project(gold_rate=1e-9, probation_answers=5, probation_gold_rate=1.0)
    make_images(project, 4)
    make_gold(project, 4)
    user = make_annotator(project)
    claimed = assignment_claim_next(annotator=user, project=project, count=2)
    assert len(claimed) == 2 and all(a.is_gold for a in claimed)


def test_votes_in_probation_carry_the_count_so_no_claim_reads_it_again(django_assert_num_queries):
    project = make_project(gold_rate=1e-9, probation_answers=3, probation_gold_rate=1.0, votes_wanted=5)
    make_images(project, 10)
    make_gold(project, 6)
    user = make_annotator(project)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    current = client.post(reverse("api:project-claim", args=[project.pk]), {"count": 1}, format="json").json()
    current = current["assignments"][0]
    rates = []
    for _ in range(3):
        response = client.post(
            reverse("api:assignment-vote", args=[current["id"]]),
            {"label": 3, "time_taken_ms": 900, "next": 1},
            format="json",
        )
        assert response.status_code == 201, response.json()
        current = response.json()["next"][0]
        with django_assert_num_queries(0):
            rates.append(gold_rate_for(annotator=user, project=project))
    assert rates == [1.0, 1.0, 1e-9]
    assert user.qualifications.get(project=project).votes_total == 3

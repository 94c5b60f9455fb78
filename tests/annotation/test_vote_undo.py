"""Undo of the last answer while its reservation is open: both answers on record, one counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Assignment, Qualification, UndoneVote, Vote
from annotation.models.assignment import AssignmentStatus
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def vote(client: APIClient, assignment_id: int, label: int, next_: int = 1) -> dict:
    response = client.post(
        reverse("api:assignment-vote", args=[assignment_id]), {"label": label, "next": next_}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def claim_one(client: APIClient, project) -> dict:
    response = client.post(reverse("api:project-claim", args=[project.pk]), {"count": 1}, format="json")
    return response.json()["assignments"][0]


def undo(client: APIClient, vote_id: int):
    return client.post(reverse("api:vote-undo", args=[vote_id]), format="json")


def test_it_reopens_the_reservation_and_keeps_both_answers_on_record():
    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    client = client_for(user)
    first = claim_one(client, project)
    body = vote(client, first["id"], 2)

    response = undo(client, body["vote"]["id"])

    assert response.status_code == 200, response.json()
    assert response.json()["assignment"]["id"] == first["id"]
    assert Assignment.objects.get(pk=first["id"]).status == AssignmentStatus.OPEN
    assert not Vote.objects.filter(annotator=user).exists()
    assert_counters_consistent(project)
    again = vote(client, first["id"], 5, next_=0)
    assert again["vote"]["counted"] is True
    undone = UndoneVote.objects.get(annotator=user)
    assert undone.label == 2 and undone.vote_id == body["vote"]["id"]
    assert list(Vote.objects.filter(annotator=user).values_list("label", flat=True)) == [5]
    assert Qualification.objects.get(annotator=user, project=project).votes_total == 1
    assert_counters_consistent(project)


def test_it_takes_back_only_the_last_answer():
    project = make_project()
    make_images(project, 3)
    client = client_for(make_annotator(project))
    first = claim_one(client, project)
    body = vote(client, first["id"], 2)
    vote(client, body["next"][0]["id"], 3)

    response = undo(client, body["vote"]["id"])

    assert response.status_code == 409 and response.json()["error"]["code"] == "not_last"


def test_it_refuses_once_the_reservation_has_ended():
    project = make_project()
    make_images(project, 2)
    client = client_for(make_annotator(project))
    first = claim_one(client, project)
    body = vote(client, first["id"], 2, next_=0)
    Assignment.objects.filter(pk=first["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = undo(client, body["vote"]["id"])

    assert response.status_code == 409 and "ended" in response.json()["error"]["message"]
    assert Vote.objects.count() == 1


def test_it_refuses_someone_elses_vote_and_a_second_undo():
    project = make_project()
    make_images(project, 2)
    owner, other = make_annotator(project), make_annotator(project)
    client = client_for(owner)
    body = vote(client, claim_one(client, project)["id"], 2, next_=0)

    assert undo(client_for(other), body["vote"]["id"]).status_code == 404
    assert undo(client, body["vote"]["id"]).status_code == 200
    assert undo(client, body["vote"]["id"]).status_code == 404
    assert UndoneVote.objects.count() == 1


def test_it_unscores_an_undone_gold_answer_so_only_the_standing_one_counts():
    project = make_project(gold_rate=1.0)
    make_gold(project, 1, label=3)
    user = make_annotator(project)
    client = client_for(user)
    assignment = claim_one(client, project)
    body = vote(client, assignment["id"], 3, next_=0)
    assert undo(client, body["vote"]["id"]).status_code == 200
    vote(client, assignment["id"], 1, next_=0)
    qualification = Qualification.objects.get(annotator=user, project=project)
    assert (qualification.gold_seen, qualification.gold_correct) == (1, 0)
    assert_counters_consistent(project)

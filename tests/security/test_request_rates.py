"""Floods by one account or one address: votes and claims per user, the time between claim and
vote, sign-ups per address."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from annotation.models import Assignment, Vote
from annotation.models.assignment import AssignmentStatus
from tests.annotation.factories import make_annotator, make_images, make_project
from tests.annotation.test_vote_hot_path import claim, token_client, vote

pytestmark = [pytest.mark.django_db]


def test_it_stops_a_burst_of_votes_from_one_annotator(settings) -> None:
    settings.RAF_VOTE_RATE = "5/min"
    project = make_project(gold_rate=0.0, votes_wanted=3)
    make_images(project, 10)
    client = token_client(make_annotator(project))
    [current] = claim(client, project)
    answers = []
    for _ in range(7):
        response = vote(client, current["id"], label=0)
        answers.append(response.status_code)
        if response.status_code != 201:
            break
        [current] = response.json()["next"]
    assert answers == [201] * 5 + [429]
    assert response.json()["error"]["code"] == "throttled" and response.json()["error"]["details"]["wait_s"] > 0
    assert Vote.objects.count() == 5


def test_it_counts_each_annotator_on_their_own(settings) -> None:
    settings.RAF_CLAIM_RATE = "2/min"
    project = make_project(gold_rate=0.0)
    make_images(project, 10)
    first, second = (token_client(make_annotator(project)) for _ in range(2))
    url = reverse("api:project-claim", args=[project.pk])
    assert [first.post(url, {"count": 1}, format="json").status_code for _ in range(3)] == [200, 200, 429]
    assert second.post(url, {"count": 1}, format="json").status_code == 200


def test_the_vote_limit_costs_one_redis_round_trip(settings, monkeypatch) -> None:
    from redis.client import Pipeline

    settings.RAF_VOTE_RATE = "100/min"
    project = make_project(gold_rate=0.0)
    make_images(project, 3)
    client = token_client(make_annotator(project))
    [current] = claim(client, project)
    pipelines = []
    execute = Pipeline.execute

    def counted(self, *args, **kwargs):
        pipelines.append([command[0][0] for command in self.command_stack])
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", counted)
    assert vote(client, current["id"]).status_code == 201
    # The limit is one pipelined round trip: this window's count up, the previous one's read.
    assert pipelines == [["INCRBY", "EXPIRE", "GET"]]


def test_it_refuses_a_vote_sooner_than_the_projects_minimum_after_the_claim(settings) -> None:
    settings.RAF_MIN_VOTE_MS = 60_000
    project = make_project(gold_rate=0.0)
    make_images(project, 3)
    client = token_client(make_annotator(project))
    [current] = claim(client, project)
    response = vote(client, current["id"], label=0)
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "too_fast" and body["details"]["min_vote_ms"] == 60_000
    assert not Vote.objects.exists()
    assert Assignment.objects.get(pk=current["id"]).status == AssignmentStatus.OPEN  # still theirs to vote on
    # A project setting wins over the install's default.
    project.min_vote_ms = 0
    project.save()
    assert vote(client, current["id"], label=0).status_code == 201


def test_it_limits_sign_ups_per_address(settings) -> None:
    settings.RAF_SIGNUP_RATE = "3/hour"
    client = Client(REMOTE_ADDR="198.51.100.4")
    codes = []
    for n in range(5):
        data = {"username": f"flood{n}", "password1": "pw-long-enough-1", "password2": "pw-long-enough-1"}
        codes.append(client.post("/signup/", data, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code)
        client.logout()
    assert codes == [302, 302, 302, 429, 429]
    assert User.objects.filter(username__startswith="flood").count() == 3


def test_a_burst_across_a_window_boundary_is_not_allowed_twice(settings, monkeypatch) -> None:
    settings.RAF_VOTE_RATE = "10/min"
    project = make_project(gold_rate=0.0, votes_wanted=3)
    make_images(project, 30)
    client = token_client(make_annotator(project))
    [current] = claim(client, project)
    clock = [60 * 1000 + 55.0]  # 5 s before a window ends
    monkeypatch.setattr("annotation.throttling.time.time", lambda: clock[0])
    accepted = 0
    for _second in range(12):
        clock[0] += 1  # one vote a second, across the boundary
        response = vote(client, current["id"], label=0)
        if response.status_code == 201:
            accepted += 1
            [current] = response.json()["next"]
    # 10 a minute: a fixed window would have let 10 through before the boundary and 10 after.
    assert accepted <= 11


def test_a_new_x_forwarded_for_per_request_does_not_reset_the_token_limit(settings) -> None:
    settings.RAF_TOKEN_RATE = "3/min"
    client = Client(REMOTE_ADDR="198.51.100.8")
    codes = [
        client.post(
            "/api/v1/auth/token",
            {"username": "nobody", "password": "x"},
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]

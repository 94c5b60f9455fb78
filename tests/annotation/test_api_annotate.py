"""The annotator's API: claim, vote with the next assignment, report, progress, own lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Assignment, Vote
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
    make_user,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def claim(client, project, count=1):
    return client.post(reverse("api:project-claim", args=[project.pk]), {"count": count}, format="json")


def test_it_claims_in_the_contract_shape():
    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    response = claim(client_for(user), project, count=2)
    assert response.status_code == 200
    body = response.json()
    assert body["finished"] is False and len(body["assignments"]) == 2
    first = body["assignments"][0]
    assert set(first) == {"id", "image", "expires_at"}
    assert set(first["image"]) == {"id", "url", "width", "height"}
    assert first["image"]["url"] == f"/api/v1/images/{first['image']['id']}/display"


def test_it_gives_back_live_reservations_when_a_page_reloads():
    project = make_project()
    make_images(project, 5)
    client = client_for(make_annotator(project))
    first = claim(client, project, 2).json()["assignments"]
    again = claim(client, project, 2).json()["assignments"]
    assert [a["id"] for a in again] == [a["id"] for a in first]


def test_it_answers_not_qualified_in_the_one_error_shape():
    project = make_project()
    make_images(project, 1)
    response = claim(client_for(make_user("annotator")), project)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_qualified"
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_it_says_finished_when_nothing_is_left():
    project = make_project()
    response = claim(client_for(make_annotator(project)), project)
    assert response.json() == {"assignments": [], "finished": True}


def test_it_votes_and_returns_the_next_assignment_and_progress():
    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    client = client_for(user)
    [a] = claim(client, project).json()["assignments"]
    response = client.post(
        reverse("api:assignment-vote", args=[a["id"]]), {"label": 2, "time_taken_ms": 900, "next": 2}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["vote"]["label"] == 2 and body["vote"]["counted"] is True and body["vote"]["late"] is False
    assert body["notice"] is None
    assert len(body["next"]) == 2 and a["image"]["id"] not in {n["image"]["id"] for n in body["next"]}
    # "remaining" is what is left for this annotator: the voted image is no longer theirs to answer.
    assert body["progress"] == {"today": 1, "total": 1, "remaining": 2, "finished": False}
    assert Vote.objects.filter(annotator=user).count() == 1
    assert_counters_consistent(project)


def test_it_hides_gold_in_the_vote_answer():
    project = make_project(gold_rate=1.0)
    make_gold(project, 1)
    client = client_for(make_annotator(project))
    [a] = claim(client, project).json()["assignments"]
    body = client.post(reverse("api:assignment-vote", args=[a["id"]]), {"label": 0, "next": 0}, format="json").json()
    assert "gold" not in str(body)
    assert body["vote"]["counted"] is True and body["next"] == []


def test_it_tells_the_annotator_about_a_late_vote():
    project = make_project(votes_wanted=1)
    make_images(project, 1)
    slow, fast = client_for(make_annotator(project)), client_for(make_annotator(project))
    [a] = claim(slow, project).json()["assignments"]
    Assignment.objects.filter(pk=a["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    [b] = claim(fast, project).json()["assignments"]
    fast.post(reverse("api:assignment-vote", args=[b["id"]]), {"label": 0, "next": 0}, format="json")
    body = slow.post(reverse("api:assignment-vote", args=[a["id"]]), {"label": 1, "next": 1}, format="json").json()
    assert body["vote"]["late"] is True and body["vote"]["counted"] is False
    assert body["notice"] and body["next"] == [] and body["progress"]["finished"] is True


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"label": 9}, "invalid_label"),
        ({"label": -1}, "invalid"),
        ({"label": "happy"}, "invalid"),
        ({}, "invalid"),
        ({"label": 1, "next": 3}, "invalid"),
        ({"label": 1, "time_taken_ms": -5}, "invalid"),
    ],
)
def test_it_rejects_bad_vote_input_and_changes_nothing(payload, code):
    project = make_project()
    make_images(project, 2)
    client = client_for(make_annotator(project))
    [a] = claim(client, project).json()["assignments"]
    response = client.post(reverse("api:assignment-vote", args=[a["id"]]), payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Vote.objects.exists()
    assert_counters_consistent(project)


def test_it_hides_other_annotators_assignments():
    project = make_project()
    make_images(project, 2)
    owner, intruder = client_for(make_annotator(project)), client_for(make_annotator(project))
    [a] = claim(owner, project).json()["assignments"]
    response = intruder.post(reverse("api:assignment-vote", args=[a["id"]]), {"label": 1}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert intruder.get(reverse("api:assignment-list")).json()["results"] == []
    assert intruder.get(reverse("api:vote-list")).json()["results"] == []
    assert len(owner.get(reverse("api:assignment-list")).json()["results"]) == 1


def test_it_answers_a_second_vote_with_409():
    project = make_project()
    make_images(project, 2)
    client = client_for(make_annotator(project))
    [a] = claim(client, project).json()["assignments"]
    url = reverse("api:assignment-vote", args=[a["id"]])
    assert client.post(url, {"label": 1, "next": 0}, format="json").status_code == 201
    again = client.post(url, {"label": 1, "next": 0}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_voted"


def test_it_reports_an_image_and_returns_the_next():
    project = make_project()
    make_images(project, 2)
    client = client_for(make_annotator(project))
    [a] = claim(client, project).json()["assignments"]
    response = client.post(reverse("api:assignment-report", args=[a["id"]]), {"reason": "no face"}, format="json")
    assert response.status_code == 201
    assert len(response.json()["next"]) == 1 and response.json()["progress"]["total"] == 0
    assert_counters_consistent(project)


def test_it_shows_progress():
    project = make_project()
    make_images(project, 2)
    client = client_for(make_annotator(project))
    body = client.get(reverse("api:project-progress", args=[project.pk])).json()
    assert body == {"today": 0, "total": 0, "remaining": 2, "finished": False}


def test_it_trades_a_password_for_a_token_that_scripts_use():
    project = make_project()
    make_images(project, 1)
    user = make_annotator(project)
    user.set_password("a-long-password-1")
    user.save()
    response = APIClient().post(
        reverse("api:auth-token"), {"username": user.username, "password": "a-long-password-1"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=user).key == token
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert claim(script, project).status_code == 200
    bad = APIClient().post(reverse("api:auth-token"), {"username": user.username, "password": "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_it_acknowledges_a_vote_even_when_no_next_image_may_be_claimed():
    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    client = client_for(user)
    [a] = claim(client, project).json()["assignments"]
    user.qualifications.update(qualified_at=None)  # withdrawn meanwhile
    response = client.post(reverse("api:assignment-vote", args=[a["id"]]), {"label": 2, "next": 1}, format="json")
    assert response.status_code == 201 and response.json()["next"] == []
    assert Vote.objects.filter(annotator=user).count() == 1

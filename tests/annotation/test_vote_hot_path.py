"""The vote request's one-statement path (Postgres): a vote on a live reservation, the next
claim and the progress counts in one prepared statement, and every case it hands back to the
general path (expired reservations, someone else's assignment, another project, bad labels).
Gold images take the one statement too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Assignment, Qualification, Vote
from annotation.models.assignment import AssignmentStatus
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
)

pytestmark = [pytest.mark.django_db]


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def claim(client, project, count=1) -> list[dict]:
    response = client.post(reverse("api:project-claim", args=[project.pk]), {"count": count}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["assignments"]


def vote(client, assignment_id: int, label: int = 1, n_next: int = 1):
    return client.post(
        reverse("api:assignment-vote", args=[assignment_id]),
        {"label": label, "time_taken_ms": 700, "next": n_next},
        format="json",
    )


def test_it_keeps_every_counter_right_over_many_votes_in_a_row():
    project = make_project(gold_rate=0.0, votes_wanted=3)
    make_images(project, 8)
    user = make_annotator(project)
    client = token_client(user)
    queue = claim(client, project)
    seen: set[int] = set()
    for n in range(1, 9):
        current = queue.pop(0)
        assert current["image"]["id"] not in seen, "an image came back to the same annotator"
        seen.add(current["image"]["id"])
        response = vote(client, current["id"], label=n % 7)
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["vote"] == {"id": body["vote"]["id"], "label": n % 7, "counted": True, "late": False}
        assert body["notice"] is None
        assert body["progress"]["today"] == n and body["progress"]["total"] == n
        assert Assignment.objects.get(pk=current["id"]).status == AssignmentStatus.VOTED
        queue += body["next"]
        assert len(body["next"]) == (1 if n < 8 else 0)
        assert_counters_consistent(project)
    assert body["progress"]["finished"] is True  # all 8 images seen: out of work
    assert Vote.objects.filter(annotator=user, counted=True).count() == 8
    assert not Assignment.objects.filter(annotator=user, status=AssignmentStatus.OPEN).exists()


def test_it_claims_the_next_image_in_the_project_of_the_vote_after_a_switch():
    first, second = make_project(gold_rate=0.0), make_project(gold_rate=0.0)
    make_images(first, 3)
    second_images = {image.pk for image in make_images(second, 3)}
    user = make_annotator(first)
    Qualification.objects.create(
        annotator=user, project=second, tutorial_read_at=timezone.now(), qualified_at=timezone.now()
    )
    client = token_client(user)
    [a] = claim(client, first)
    assert vote(client, a["id"]).status_code == 201  # the process now expects `first`
    [b] = claim(client, second)
    body = vote(client, b["id"]).json()
    assert [n["image"]["id"] in second_images for n in body["next"]] == [True]
    assert body["progress"]["total"] == 1
    assert_counters_consistent(first)
    assert_counters_consistent(second)


def test_it_hands_expired_and_foreign_votes_to_the_general_path_and_scores_gold():
    project = make_project(gold_rate=0.0, votes_wanted=1)
    make_images(project, 4)
    [gold] = make_gold(project, 1, label=3)
    user, other = make_annotator(project), make_annotator(project)
    client, other_client = token_client(user), token_client(other)
    [a] = claim(client, project)
    assert vote(client, a["id"]).status_code == 201
    # Someone else's assignment: not found, nothing written.
    [theirs] = claim(other_client, project)
    assert vote(client, theirs["id"]).status_code == 404
    # A label outside the classes: the general path's error, nothing written.
    [b] = claim(client, project)
    response = vote(client, b["id"], label=7)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_label"
    # Expired and released, and filled meanwhile: kept as late, not counted.
    Assignment.objects.filter(pk=b["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert vote(other_client, theirs["id"], n_next=0).status_code == 201
    from annotation.services.assignment import assignments_release_expired

    assignments_release_expired()
    image_b = Assignment.objects.get(pk=b["id"]).image
    Assignment.objects.filter(image=image_b).exclude(pk=b["id"]).delete()
    image_b.counted_votes, image_b.reserved = 1, 0
    Vote.objects.create(image=image_b, annotator=other, label=0)
    image_b.save()
    body = vote(client, b["id"]).json()
    assert body["vote"]["late"] is True and body["notice"]
    # A gold image: scored, never counted, answered like any vote.
    gold_assignment = Assignment.objects.create(
        image=gold, annotator=user, is_gold=True, expires_at=timezone.now() + timedelta(minutes=5)
    )
    gold.reserved = 1
    gold.save()
    body = vote(client, gold_assignment.pk, label=3).json()
    assert body["vote"]["counted"] is True
    assert Vote.objects.get(pk=body["vote"]["id"]).counted is False
    assert Qualification.objects.get(annotator=user, project=project).gold_correct == 1
    assert_counters_consistent(project)
    assert Vote.objects.filter(annotator=user).count() == 3


def test_it_forgets_a_cached_token_when_the_role_is_taken_away():
    project = make_project(gold_rate=0.0)
    make_images(project, 3)
    user = make_annotator(project)
    client = token_client(user)
    [a] = claim(client, project)
    user.groups.remove(Group.objects.get(name="annotator"))
    assert vote(client, a["id"]).status_code == 403
    Token.objects.filter(user=user).delete()
    assert client.post(reverse("api:project-claim", args=[project.pk]), {}, format="json").status_code in (401, 403)


def test_it_refuses_an_absurd_label_without_writing_after_a_first_vote():
    project = make_project(gold_rate=0.0)
    make_images(project, 3)
    user = make_annotator(project)
    client = token_client(user)
    [a] = claim(client, project)
    [b] = vote(client, a["id"]).json()["next"]
    for label in (10**12, 40000, True):
        response = vote(client, b["id"], label=label)
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["code"] in ("invalid", "invalid_label")
    assert Vote.objects.filter(annotator=user).count() == 1
    assert_counters_consistent(project)


def test_it_updates_the_voted_image_in_place_without_index_entries():
    # A vote changes no indexed column of its image (image_assign_load_idx is on the stored
    # load, which a vote keeps), so Postgres must take the HOT path for that row update.
    from django.db import connection

    project = make_project(gold_rate=0.0, votes_wanted=3)
    make_images(project, 2)
    user = make_annotator(project)
    client = token_client(user)
    [current] = claim(client, project)

    def hot_updates() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('annotation_image'::regclass)")
            return cursor.fetchone()[0]

    before = hot_updates()
    assert vote(client, current["id"], n_next=0).status_code == 201
    assert hot_updates() == before + 1


def test_it_scores_gold_votes_and_fills_gold_slots_in_the_one_statement(monkeypatch):
    project = make_project(gold_rate=1.0, votes_wanted=5)
    regular = {image.pk for image in make_images(project, 3)}
    gold = {image.pk for image in make_gold(project, 2, label=3)}
    user = make_annotator(project)
    client = token_client(user)
    [first] = claim(client, project)
    assert first["image"]["id"] in gold  # gold rate 1: every slot is a gold slot
    body = vote(client, first["id"], label=3).json()  # right
    [second] = body["next"]
    assert second["image"]["id"] in gold - {first["image"]["id"]}

    def general_path(**_):
        raise AssertionError("the vote left the one statement")

    # From here on (the project of the last vote is known) every vote is one statement.
    monkeypatch.setattr("annotation.services.votes.vote_create", general_path)
    monkeypatch.setattr("annotation.services.votes.vote_create_on_open_reservation", general_path)
    monkeypatch.setattr("annotation.services.votes.assignment_claim_next", general_path)
    response = vote(client, second["id"], label=0)  # wrong
    assert response.status_code == 201, response.json()
    body = response.json()
    # Answered like any vote: gold is never revealed.
    assert body["vote"] == {"id": body["vote"]["id"], "label": 0, "counted": True, "late": False}
    assert body["progress"]["today"] == 2 and body["progress"]["total"] == 2
    # Every gold image seen: the gold slot is filled with a regular image.
    [third] = body["next"]
    assert third["image"]["id"] in regular
    assert Assignment.objects.get(pk=third["id"]).is_gold is False
    qualification = Qualification.objects.get(annotator=user, project=project)
    assert (qualification.gold_seen, qualification.gold_correct) == (2, 1)
    gold_votes = Vote.objects.filter(annotator=user, image_id__in=gold)
    assert gold_votes.count() == 2 and not gold_votes.filter(counted=True).exists()
    assert all(v.is_gold for v in gold_votes)
    assert Assignment.objects.get(pk=second["id"]).status == AssignmentStatus.VOTED
    assert vote(client, third["id"], label=1).json()["vote"]["counted"] is True
    assert Vote.objects.get(annotator=user, image_id=third["image"]["id"]).counted is True
    assert_counters_consistent(project)


def test_the_database_refuses_a_label_outside_the_project_classes_whatever_writes_it():
    """The one check of a label's range is the database's (migration 0007): the ORM, an UPDATE
    and COPY-like bulk writes are refused as well as the vote statement."""
    from django.db import IntegrityError, transaction

    project = make_project(classes=["yes", "no"])
    [image] = make_images(project, 1)
    user = make_annotator(project)
    with pytest.raises(IntegrityError, match="vote_label_in_classes"), transaction.atomic():
        Vote.objects.create(image=image, annotator=user, label=2, counted=False)
    vote = Vote.objects.create(image=image, annotator=user, label=1, counted=False)
    with pytest.raises(IntegrityError, match="vote_label_in_classes"), transaction.atomic():
        Vote.objects.filter(pk=vote.pk).update(label=5)
    assert Vote.objects.get(pk=vote.pk).label == 1


def test_the_guess_of_the_annotators_project_lives_in_the_shared_cache():
    from django.core.cache import cache

    from annotation.services.assignment import annotator_last_project

    project = make_project()
    make_images(project, 3)
    user = make_annotator(project)
    cache.delete(f"raf:last-project:{user.pk}")
    claim(token_client(user), project)
    assert annotator_last_project(annotator_id=user.pk) == project.pk


def test_the_per_process_project_cache_is_bounded():
    from annotation.selectors import projects

    for _ in range(projects.PROJECT_CACHE_SIZE + 10):
        projects.project_get_cached(project_id=make_project().pk)
    assert len(projects._projects) == projects.PROJECT_CACHE_SIZE


def test_the_vote_statement_is_prepared_once_per_connection_and_planned_generically():
    """The hot-path statements are server-side prepared: parsed once per connection, and after
    Postgres's five custom plans, planned once (Django turns psycopg's preparing off by
    default, and psycopg then ignores ``prepare=True``: every vote was parsed and planned again)."""
    from django.db import connection

    project = make_project(gold_rate=0.0, votes_wanted=3)
    make_images(project, 12)
    client = token_client(make_annotator(project))
    queue = claim(client, project)
    for _ in range(10):
        response = vote(client, queue.pop(0)["id"])
        assert response.status_code == 201, response.json()
        queue.extend(response.json()["next"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans, generic_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%INSERT INTO annotation_vote%%'"
        )
        rows = cursor.fetchall()
    assert rows, "the vote statement is not prepared on the server"
    [(executions, generic)] = rows
    assert executions >= 10
    assert generic >= executions - 5, "Postgres plans the vote statement anew on each execution"

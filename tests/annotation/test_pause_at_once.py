"""A pause or an exclusion takes effect at once (issue 14): a paused or excluded annotator's
vote is refused with a sentence and counts nothing, also on a reservation held since before,
whatever a process memoised; other annotators are not affected. Racing votes: every vote of the
annotator after the pause (or exclusion) returns is refused, and an exclusion uncounts every
vote that got in before it."""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.errors import ServiceError
from annotation.models import AnnotatorFlag, Assignment, FlagStatus, Image, Qualification, Vote
from annotation.services.assignment import assignment_claim_next
from annotation.services.spammers import PAUSED_MESSAGE, flag_review
from annotation.services.votes import vote_submit
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project, make_user


@pytest.fixture
def _memoised_qualification(monkeypatch):
    """The per-process memo of a passed qualification check on, as in production (60 s)."""
    monkeypatch.setattr("annotation.services.assignment.QUALIFIED_CACHE_S", 60)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def claim(client, project, count=1):
    return client.post(reverse("api:project-claim", args=[project.pk]), {"count": count}, format="json")


def vote(client, assignment_id: int, label: int = 1, n_next: int = 1):
    return client.post(
        reverse("api:assignment-vote", args=[assignment_id]),
        {"label": label, "time_taken_ms": 900, "next": n_next},
        format="json",
    )


def counters(project) -> list[tuple[int, int, int]]:
    return list(Image.objects.filter(project=project).order_by("pk").values_list("pk", "counted_votes", "reserved"))


def assert_refused_as_paused(response) -> None:
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "paused"
    assert response.json()["error"]["message"] == PAUSED_MESSAGE


@pytest.mark.django_db
@pytest.mark.usefixtures("_memoised_qualification")
@pytest.mark.parametrize("action", ["pause", "exclude"])
def test_a_vote_on_a_reservation_held_since_before_is_refused_and_counts_nothing(action):
    project = make_project(votes_wanted=3)
    make_images(project, 6)
    spammer, honest = make_annotator(project), make_annotator(project)
    spammer_client, honest_client = token_client(spammer), token_client(honest)
    first = claim(spammer_client, project).json()["assignments"][0]  # fills this process's memo
    assert vote(spammer_client, first["id"]).status_code == 201  # counted, and the next one held
    held = Vote.objects.get(annotator=spammer)
    [next_one] = Assignment.objects.filter(annotator=spammer, status="open")
    [mine] = claim(honest_client, project).json()["assignments"]
    flag = AnnotatorFlag.objects.create(project=project, annotator=spammer, reason="answer time", answers_at_flag=1)
    flag_review(flag=flag, action=action, by=make_user("admin"))
    assert Qualification.objects.get(annotator=spammer, project=project).paused
    before = counters(project)

    assert_refused_as_paused(vote(spammer_client, next_one.pk))
    assert_refused_as_paused(claim(spammer_client, project))
    assert list(Vote.objects.filter(annotator=spammer).values_list("pk", flat=True)) == [held.pk]
    assert counters(project) == before
    assert Vote.objects.get(pk=held.pk).counted == (action == "pause")  # exclude uncounted it

    assert vote(honest_client, mine["id"]).status_code == 201  # the others go on
    assert_counters_consistent(project)


@pytest.mark.django_db
@pytest.mark.usefixtures("_memoised_qualification")
def test_a_resumed_annotator_votes_on_the_reservation_again():
    project = make_project(votes_wanted=3)
    make_images(project, 3)
    user = make_annotator(project)
    client = token_client(user)
    [held] = claim(client, project).json()["assignments"]
    flag = AnnotatorFlag.objects.create(project=project, annotator=user, reason="answer time", status="paused")
    assert Qualification.objects.get(annotator=user, project=project).paused  # the trigger on insert
    assert_refused_as_paused(vote(client, held["id"]))
    flag_review(flag=flag, action="resume", by=make_user("admin"))
    assert not Qualification.objects.get(annotator=user, project=project).paused
    assert vote(client, held["id"]).status_code == 201
    assert_counters_consistent(project)


@pytest.mark.django_db
def test_the_database_refuses_a_paused_annotators_vote_whatever_writes_it():
    project = make_project(votes_wanted=3)
    [image] = make_images(project, 1)
    user = make_annotator(project)
    AnnotatorFlag.objects.create(project=project, annotator=user, reason="answer time", status="paused")
    with pytest.raises(IntegrityError, match="vote_annotator_paused"), transaction.atomic():
        Vote.objects.create(image=image, annotator=user, label=1, counted=False)
    assert not Vote.objects.filter(annotator=user).exists()


@pytest.mark.django_db
def test_a_qualification_created_after_the_flag_starts_paused():
    project = make_project()
    user = make_user("annotator")
    AnnotatorFlag.objects.create(project=project, annotator=user, reason="answer time", status="excluded")
    assert Qualification.objects.create(annotator=user, project=project).paused
    AnnotatorFlag.objects.filter(annotator=user).delete()
    assert not Qualification.objects.get(annotator=user, project=project).paused


@pytest.fixture
def _roles() -> None:
    # A transactional test that ran before this one flushed the roles the migrations created.
    for name in ("annotator", "researcher", "admin"):
        Group.objects.get_or_create(name=name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_roles", "_memoised_qualification")
@pytest.mark.parametrize("action", ["pause", "exclude"])
def test_votes_racing_the_review_stop_when_it_returns(action):
    project = make_project(votes_wanted=6, gold_rate=0.0)
    make_images(project, 400)
    spammer = make_annotator(project)
    honest = [make_annotator(project) for _ in range(3)]
    flag = AnnotatorFlag.objects.create(project=project, annotator=spammer, reason="answer time")
    admin = make_user("admin")
    errors: list[BaseException] = []
    accepted: dict[int, list[int]] = {u.pk: [] for u in [spammer, *honest]}
    refused_after: list[bool] = []
    reviewing, reviewed = threading.Event(), threading.Event()
    votes_at_review: list[int] = []
    start = threading.Barrier(len(honest) + 2)

    def annotate(user, seed: int) -> None:
        rng = random.Random(seed)
        try:
            queue = assignment_claim_next(annotator=user, project=project, count=1)
            start.wait()
            after = 0
            while queue and after < 10:  # the honest ones go on a little after the review
                after += reviewed.is_set()
                try:
                    done = vote_submit(
                        annotator=user, assignment_id=queue[0].pk, label=rng.randrange(7), time_taken_ms=900, n_next=1
                    )
                except ServiceError as exc:
                    assert user == spammer and exc.code == "paused", exc
                    refused_after.append(reviewing.is_set())
                    return
                accepted[user.pk].append(done.outcome.vote.pk)
                queue = done.following
                if user == spammer and reviewed.is_set() and len(accepted[user.pk]) > votes_at_review[0]:
                    raise AssertionError("a vote got in after the review returned")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def review() -> None:
        try:
            start.wait()
            deadline = time.monotonic() + 60
            while len(accepted[spammer.pk]) < 5 and time.monotonic() < deadline:  # in the thick of it
                time.sleep(0.01)
            reviewing.set()
            flag_review(flag=flag, action=action, by=admin)
            votes_at_review.append(Vote.objects.filter(annotator=spammer).count())
            reviewed.set()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=annotate, args=(u, i)) for i, u in enumerate([spammer, *honest])]
    threads.append(threading.Thread(target=review))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an annotator is stuck"
    assert not errors, errors[:3]

    assert AnnotatorFlag.objects.get(pk=flag.pk).status == (
        FlagStatus.PAUSED if action == "pause" else FlagStatus.EXCLUDED
    )
    assert refused_after == [True]  # the spammer was refused, and only once the review began
    assert Vote.objects.filter(annotator=spammer).count() == votes_at_review[0] == len(accepted[spammer.pk]) >= 5
    if action == "exclude":
        assert not Vote.objects.filter(annotator=spammer, counted=True).exists()
    for user in honest:  # never refused, every acknowledged vote stored
        stored = set(Vote.objects.filter(annotator=user).values_list("pk", flat=True))
        assert stored == set(accepted[user.pk]) and stored
    assert_counters_consistent(project)

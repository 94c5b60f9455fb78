"""Many real database connections claiming and voting at once (Postgres only).

Each thread is one annotator with its own connection. A releaser thread returns expired
reservations to the pool meanwhile, and some annotators answer after their reservation
expired, so live, released and late votes all race each other.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection
from django.db.models import Count

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, Vote
from annotation.services.assignment import assignment_claim_next, assignments_release_expired
from annotation.services.votes import vote_create
from tests.annotation.factories import (
    assert_counters_consistent,
    make_annotator,
    make_gold,
    make_images,
    make_project,
)

pytestmark = [pytest.mark.django_db(transaction=True)]

N_ANNOTATORS = 16
# Annotators keep going until every regular image has all its votes (liveness), however slow
# the machine; only a run that cannot get there in DEADLINE_S fails.
DEADLINE_S = 90.0


def test_it_keeps_every_invariant_when_annotators_race():
    project = make_project(votes_wanted=4, reservation_timeout_s=1, gold_rate=0.1)
    make_images(project, 12)
    make_gold(project, 2)
    annotators = [make_annotator(project) for _ in range(N_ANNOTATORS)]
    acknowledged: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(N_ANNOTATORS + 2)
    done = threading.Event()

    def annotate(user, seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            while not done.is_set():
                claimed = assignment_claim_next(annotator=user, project=project, count=2)
                if not claimed:
                    time.sleep(0.05)
                    continue
                for assignment in claimed:
                    if rng.random() < 0.15:
                        time.sleep(1.2)  # past the reservation: a late or released vote
                    assignment = Assignment.objects.select_related("image__project").get(pk=assignment.pk)
                    outcome = vote_create(
                        annotator=user, assignment=assignment, label=rng.randrange(7), time_taken_ms=5
                    )
                    with lock:
                        acknowledged.append(outcome.vote.pk)
                    try:  # a double submit must be refused, never stored twice
                        vote_create(annotator=user, assignment=assignment, label=0, time_taken_ms=5)
                        raise AssertionError("second vote accepted")
                    except ServiceError as exc:
                        assert exc.code == "already_voted"
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def release() -> None:
        try:
            start.wait()
            while not done.is_set():
                assignments_release_expired(limit=5)
                time.sleep(0.02)
        finally:
            connection.close()

    def watch() -> None:
        # Stops everyone once every regular image is full (or at the deadline).
        try:
            start.wait()
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline and not errors:
                if not Image.objects.filter(project=project, is_gold=False, counted_votes__lt=4).exists():
                    break
                time.sleep(0.1)
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=annotate, args=(u, i)) for i, u in enumerate(annotators)]
    threads.append(threading.Thread(target=release))
    threads.append(threading.Thread(target=watch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE_S + 30)
    assert not any(thread.is_alive() for thread in threads), "an annotator is stuck"
    assert not errors, errors[:3]
    assert acknowledged, "no vote went through"

    stored = set(Vote.objects.filter(pk__in=acknowledged).values_list("pk", flat=True))
    assert stored == set(acknowledged), "an acknowledged vote is missing"
    duplicates = Vote.objects.values("annotator", "image").annotate(n=Count("id")).filter(n__gt=1)
    assert not duplicates.exists()
    images = Image.objects.filter(project=project)
    assert all(i.counted_votes <= i.votes_wanted for i in images)
    assert sum(i.counted_votes for i in images) == Vote.objects.filter(counted=True).count()
    assignments_release_expired()
    assert_counters_consistent(project)
    # Liveness: expired reservations came back and every regular image got all its votes.
    assert all(i.counted_votes == i.votes_wanted for i in images.filter(is_gold=False)), [
        (i.pk, i.counted_votes, i.reserved) for i in images.filter(is_gold=False)
    ]

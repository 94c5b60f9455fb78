"""Excluding a spammer's votes while other annotators claim and vote (Postgres only).

A spammer votes on a share of the images first. Then honest annotators race to fill every
image while an admin excludes the spammer in the middle: the spammer's votes stop counting, their
images return to the pool for replacement votes, and no vote is lost or counted twice.
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count

from annotation.errors import ServiceError
from annotation.models import AnnotatorFlag, Assignment, FlagStatus, Image, Vote
from annotation.services.assignment import assignment_claim_next, assignments_release_expired
from annotation.services.spammers import PAUSED_MESSAGE, annotator_flag, flag_review
from annotation.services.votes import vote_create
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project, make_user

pytestmark = [pytest.mark.django_db(transaction=True)]

N_HONEST = 10
DEADLINE_S = 90.0


@pytest.fixture(autouse=True)
def _roles() -> None:
    # A transactional test that ran before this one flushed the roles the migrations created.
    for name in ("annotator", "researcher", "admin"):
        Group.objects.get_or_create(name=name)


def vote_all(user, project, *, limit: int, rng: random.Random) -> list[int]:
    ids: list[int] = []
    while len(ids) < limit:
        claimed = assignment_claim_next(annotator=user, project=project, count=2)
        if not claimed:
            break
        for assignment in claimed:
            assignment = Assignment.objects.select_related("image__project").get(pk=assignment.pk)
            ids.append(
                vote_create(annotator=user, assignment=assignment, label=rng.randrange(7), time_taken_ms=0).vote.pk
            )
    return ids


def test_excluding_a_spammer_mid_race_loses_nothing_and_refills_the_images():
    project = make_project(votes_wanted=4, reservation_timeout_s=2, gold_rate=0.0)
    make_images(project, 16)
    spammer = make_annotator(project)
    spam_votes = vote_all(spammer, project, limit=12, rng=random.Random(0))
    assert len(spam_votes) == 12
    flag = annotator_flag(project=project, annotator_id=spammer.pk, reason="answer time", answers=12)
    admin = make_user("admin")
    honest = [make_annotator(project) for _ in range(N_HONEST)]
    acknowledged: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(N_HONEST + 2)
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
                    assignment = Assignment.objects.select_related("image__project").get(pk=assignment.pk)
                    outcome = vote_create(
                        annotator=user, assignment=assignment, label=rng.randrange(7), time_taken_ms=900
                    )
                    with lock:
                        acknowledged.append(outcome.vote.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    def exclude_then_watch() -> None:
        try:
            start.wait()
            time.sleep(0.3)  # in the thick of it
            flag_review(flag=flag, action="exclude", by=admin)
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline and not errors:
                assignments_release_expired(limit=50)
                if not Image.objects.filter(project=project, counted_votes__lt=4).exists():
                    break
                time.sleep(0.1)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=annotate, args=(u, i)) for i, u in enumerate(honest)]
    threads.append(threading.Thread(target=exclude_then_watch))
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(timeout=DEADLINE_S + 30)
    assert not any(thread.is_alive() for thread in threads), "an annotator is stuck"
    assert not errors, errors[:3]

    stored = set(Vote.objects.filter(pk__in=acknowledged + spam_votes).values_list("pk", flat=True))
    assert stored == set(acknowledged + spam_votes), "an acknowledged vote is missing"
    assert not Vote.objects.values("annotator", "image").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Vote.objects.filter(annotator=spammer, counted=True).exists()
    assert AnnotatorFlag.objects.get(pk=flag.pk).status == FlagStatus.EXCLUDED
    assignments_release_expired()
    assert_counters_consistent(project)
    # The spammer's slots were refilled by the honest annotators.
    images = Image.objects.filter(project=project)
    assert all(i.counted_votes == 4 for i in images), [(i.pk, i.counted_votes) for i in images]
    with pytest.raises(ServiceError) as refused:
        assignment_claim_next(annotator=spammer, project=project, count=1)
    assert refused.value.code == "paused" and refused.value.message == PAUSED_MESSAGE

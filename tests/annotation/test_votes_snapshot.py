"""A reliability run's snapshot of votes: recorded on the run, read again on redelivery, and
never missing a vote that was still uncommitted when it was taken."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from annotation.models import ReliabilityRun, Vote
from annotation.services.reliability import reliability_run_execute, votes_snapshot_mark
from annotation.services.simulation import votes_simulate
from tests.annotation.reliability_factories import make_images, make_project, make_user


@pytest.mark.django_db
def test_it_records_the_snapshot_and_reads_only_the_votes_up_to_it() -> None:
    project = make_project(votes_wanted=6)
    make_images(project, 30)
    votes_simulate(project=project, annotators=10, votes_per_image=6, spammers=0.0, seed=2)
    ids = list(Vote.objects.order_by("id").values_list("id", flat=True))
    # A redelivered run keeps the snapshot it marked the first time.
    run = ReliabilityRun.objects.create(project=project, votes_snapshot_last_id=ids[119])
    run = reliability_run_execute(run=run)
    assert run.metrics["votes"] == 120 and run.votes_snapshot_last_id == ids[119]
    fresh = reliability_run_execute(run=ReliabilityRun.objects.create(project=project))
    assert fresh.votes_snapshot_last_id == ids[-1] and fresh.votes_snapshot_at is not None
    assert fresh.metrics["votes"] == 180


@pytest.mark.django_db(transaction=True)
def test_the_mark_waits_for_a_vote_inserted_but_not_yet_committed() -> None:
    project = make_project()
    image = make_images(project, 1)[0]
    annotator = make_user("annotator")
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    vote_ids: list[int] = []

    def slow_vote() -> None:
        try:
            with transaction.atomic():
                vote_ids.append(Vote.objects.create(image=image, annotator=annotator, label=1).pk)
                inserted.set()
                release.wait(10)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    voter = threading.Thread(target=slow_vote)
    voter.start()
    assert inserted.wait(10)
    marks: list[int] = []
    marker = threading.Thread(target=lambda: (marks.append(votes_snapshot_mark()[1]), connection.close()))
    marker.start()
    time.sleep(0.5)
    assert not marks  # still waiting for the voter's transaction
    release.set()
    voter.join()
    marker.join(10)
    assert errors == []
    # Every vote at or below the mark is committed: the late-committing vote is inside it.
    assert marks == [vote_ids[0]]

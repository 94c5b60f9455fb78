"""The work log and its CSVs: each participant with votes, gold accuracy and time, in the
shapes of the markets' bulk-approve and bonus tools."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from annotation.selectors.studies import study_work_log
from annotation.selectors.study_payments import WORKLOG_COLUMNS, study_payment_csv
from annotation.services.studies import study_enrolment_complete, study_links_delete
from tests.annotation.study_factories import enter, label_faces, make_study, study_project

pytestmark = pytest.mark.django_db
P1, P2 = "5f0c0a1b2c3d4e5f60718293", "60aaaaaaaaaaaaaaaaaaaaaa"


def _two_participants(market: str = "prolific", **fields):
    study = make_study(project=study_project(gold_rate=0.0), market=market, quota=3, bonus_per_vote="0.05", **fields)
    done = enter(study, P1, market_study_id="H1", session_id="A1")
    label_faces(done, 3, time_taken_ms=2000)
    study_enrolment_complete(enrolment=done)
    started = enter(study, P2, market_study_id="H1", session_id="A2")
    label_faces(started, 1, time_taken_ms=500_000)  # left on screen: capped at a minute
    return study


def test_it_lists_each_participant_with_votes_time_and_status():
    rows = {row.participant_id: row for row in study_work_log(study=_two_participants())}
    assert rows[P1].status == "completed" and rows[P1].votes == 3 and rows[P1].active_s == 6.0
    assert rows[P2].status == "started" and rows[P2].votes == 1 and rows[P2].active_s == 60.0
    assert rows[P1].bonus == Decimal("0.15") and rows[P2].bonus == Decimal("0.00")
    assert rows[P1].flags == () and rows[P1].elapsed_s >= 0


def test_it_writes_the_full_work_log_csv_with_every_participant():
    study = _two_participants()
    text = study_payment_csv(study=study, rows=study_work_log(study=study), kind="worklog")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == WORKLOG_COLUMNS
    assert {(r["participant_id"], r["status"], r["votes"]) for r in rows} == {
        (P1, "completed", "3"),
        (P2, "started", "1"),
    }
    assert rows[0]["active_seconds"] == "6.0"


def test_it_writes_prolifics_approve_and_bonus_lists_without_a_header():
    study = _two_participants()
    rows = study_work_log(study=study)
    assert study_payment_csv(study=study, rows=rows, kind="approve") == f"{P1}\n"
    assert study_payment_csv(study=study, rows=rows, kind="bonus") == f"{P1},0.15\n"


def test_it_writes_mturks_batch_approve_and_bonus_columns():
    study = _two_participants(market="mturk")
    rows = study_work_log(study=study)
    approve = list(csv.DictReader(io.StringIO(study_payment_csv(study=study, rows=rows, kind="approve"))))
    assert approve == [{"HITId": "H1", "AssignmentId": "A1", "WorkerId": P1, "Approve": "x", "Reject": ""}]
    bonus = list(csv.DictReader(io.StringIO(study_payment_csv(study=study, rows=rows, kind="bonus"))))
    assert bonus == [{"WorkerId": P1, "AssignmentId": "A1", "BonusAmount": "0.15", "Reason": "3 faces labelled"}]


def test_it_keeps_the_work_log_without_ids_once_the_links_are_deleted():
    study = _two_participants()
    study_links_delete(study=study)
    rows = study_work_log(study=study)
    assert [row.votes for row in rows] == [3, 1] and {row.participant_id for row in rows} == {""}
    for kind in ("worklog", "approve", "bonus"):
        text = study_payment_csv(study=study, rows=rows, kind=kind)
        assert P1 not in text and P2 not in text

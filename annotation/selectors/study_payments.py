"""A study's work log as CSV text, in the shapes the markets' payment tools take.

* ``worklog``: every participant, every column (a spreadsheet for the researcher).
* ``approve``: who to approve. Prolific's bulk approve takes participant ids, one a line;
  MTurk's batch upload takes ``HITId,AssignmentId,WorkerId,Approve,Reject`` with an ``x`` in
  ``Approve``. Only completed participants are listed.
* ``bonus``: Prolific's bulk bonus takes ``participant id,amount`` lines (no header); MTurk has
  no bulk bonus page, so the file is ``WorkerId,AssignmentId,BonusAmount,Reason`` for a
  ``send-bonus`` loop. Only completed participants with a positive bonus are listed.

Participant ids appear here and on the admin's work log page, nowhere else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from annotation.models import Study, StudyMarket
from annotation.selectors.studies import WorkLogRow

CSV_KINDS = ("worklog", "approve", "bonus")

WORKLOG_COLUMNS = [
    "participant_id",
    "session_id",
    "status",
    "votes",
    "gold_seen",
    "gold_correct",
    "gold_accuracy",
    "active_seconds",
    "elapsed_seconds",
    "started_at",
    "finished_at",
    "bonus",
    "flags",
]


def _iso(value: object) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""  # type: ignore[attr-defined]


def _worklog(rows: Sequence[WorkLogRow], out: csv.writer) -> None:  # type: ignore[valid-type]
    out.writerow(WORKLOG_COLUMNS)
    for row in rows:
        accuracy = row.gold_accuracy
        out.writerow(
            [
                row.participant_id,
                row.session_id,
                row.status,
                row.votes,
                row.gold_seen,
                row.gold_correct,
                "" if accuracy is None else f"{accuracy:.4f}",
                f"{row.active_s:.1f}",
                f"{row.elapsed_s:.1f}",
                _iso(row.started_at),
                _iso(row.finished_at),
                f"{row.bonus:.2f}",
                " ".join(row.flags),
            ]
        )


def _approve(study: Study, rows: Sequence[WorkLogRow], out: csv.writer) -> None:  # type: ignore[valid-type]
    completed = [row for row in rows if row.status == "completed" and row.participant_id]
    if study.market == StudyMarket.MTURK:
        out.writerow(["HITId", "AssignmentId", "WorkerId", "Approve", "Reject"])
        for row in completed:
            out.writerow([row.market_study_id, row.session_id, row.participant_id, "x", ""])
    elif study.market == StudyMarket.PROLIFIC:
        for row in completed:
            out.writerow([row.participant_id])
    else:
        out.writerow(["participant_id", "session_id", "completion_code"])
        for row in completed:
            out.writerow([row.participant_id, row.session_id, study.completion_code])


def _bonus(study: Study, rows: Sequence[WorkLogRow], out: csv.writer) -> None:  # type: ignore[valid-type]
    paid = [row for row in rows if row.bonus > 0 and row.participant_id]
    if study.market == StudyMarket.MTURK:
        out.writerow(["WorkerId", "AssignmentId", "BonusAmount", "Reason"])
        for row in paid:
            out.writerow([row.participant_id, row.session_id, f"{row.bonus:.2f}", f"{row.votes} faces labelled"])
    elif study.market == StudyMarket.PROLIFIC:
        for row in paid:
            out.writerow([row.participant_id, f"{row.bonus:.2f}"])
    else:
        out.writerow(["participant_id", "bonus"])
        for row in paid:
            out.writerow([row.participant_id, f"{row.bonus:.2f}"])


def study_payment_csv(*, study: Study, rows: Sequence[WorkLogRow], kind: str) -> str:
    """The CSV text of ``kind`` (one of :data:`CSV_KINDS`) for ``study``'s work log ``rows``."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    if kind == "worklog":
        _worklog(rows, out)
    elif kind == "approve":
        _approve(study, rows, out)
    elif kind == "bonus":
        _bonus(study, rows, out)
    else:
        raise ValueError(f"unknown CSV kind {kind!r}")
    return buffer.getvalue()

"""Votes and reports on an annotator's own reservation.

A vote is written in one transaction with the assignment (locked ``FOR UPDATE``) and a
compare-and-set update of the image's counters, and committed before the API answers:

* on a live reservation (``open``, even past ``expires_at`` while nobody released it) the
  vote counts: ``counted_votes + 1, reserved - 1`` (the reservation held the slot);
* on a released reservation (``expired``) it counts only while the image still needs votes
  (``counted_votes + reserved < votes_wanted``); otherwise it is kept with ``late=True,
  counted=False`` and the outcome carries a notice for the annotator;
* a gold image's vote is never counted; the database's triggers score it on the annotator's
  qualification (and count every vote there: the progress counters).

The database refuses a second vote by the same annotator on an image and an image going over
its wanted count; those refusals come back as :class:`ServiceError`. A paused or excluded
annotator's vote is refused (403 ``paused``) and writes nothing, including on a reservation
they held before the pause: the database refuses the insert (the vote-counter trigger reads
``Qualification.paused`` on the row it updates, migration 0015), whichever path writes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, ImageReport, Project, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.selectors.projects import project_get_cached
from annotation.services.assignment import (
    CLAIMED_ARRAY_SQL,
    annotator_last_project,
    annotator_project_remember,
    answers_note,
    assignment_claim_draws,
    assignment_claim_next,
    assignments_from_rows,
    claim_ctes,
    claim_params,
)
from annotation.services.progress import Progress, annotator_progress, annotator_remaining
from annotation.services.spammers import paused_error
from annotation.sql import fetch_prepared

LATE_NOTICE = (
    "Your reservation of this image had expired and it has received all the votes it needs, "
    "so your answer was kept but not counted."
)


@dataclass(frozen=True)
class VoteOutcome:
    vote: Vote
    notice: str | None


def vote_create(
    *, annotator: AbstractBaseUser, assignment: Assignment, label: int, time_taken_ms: int | None
) -> VoteOutcome:
    """Store ``annotator``'s ``label`` (0-based index into the project's classes) for the image
    of ``assignment``, which must be the annotator's own open or expired reservation."""
    _require_integers(label, time_taken_ms)
    try:
        with transaction.atomic():
            locked = _lock_own(annotator=annotator, assignment=assignment)
            _require_time_to_look(assignment=locked)
            outcome = _write_vote(annotator=annotator, assignment=locked, label=label, time_taken_ms=time_taken_ms)
    except IntegrityError as exc:
        raise _integrity_error(exc) from exc
    return outcome


# The hot path on Postgres: a vote on the annotator's own live reservation (nearly every vote)
# in one statement, committed on its own (autocommit). It locks the assignment FOR UPDATE like
# _lock_own (the conditions are checked again on the locked row, so a reservation released
# meanwhile falls through), moves the slot out of reserved (into counted for a regular image),
# inserts the vote (the database's triggers score a gold image's vote and count it on the
# qualification) and closes the assignment; each step runs only when the previous one returned
# a row. Anything else (an expired reservation, someone else's assignment, a vote sooner after
# the claim than the project's minimum time) returns no row and no write, and takes
# vote_create's path, which says why. A paused annotator's vote is refused by the vote-counter
# trigger (migration 0015), which rolls the whole statement back. The same writes as _write_vote's open case. A label
# that is not one of the project's classes is refused by the database (migration 0007's trigger,
# the one check of the label's range), which rolls the whole statement back.
_VOTE_CTES = """
    own AS (
        SELECT a.id, a.image_id, a.is_gold, i.project_id FROM annotation_assignment a
        JOIN annotation_image i ON i.id = a.image_id
        JOIN annotation_project p ON p.id = i.project_id
        WHERE a.id = %(assignment)s::bigint AND a.annotator_id = %(annotator)s::integer AND a.status = 'open'
          AND a.created_at <= %(now)s::timestamptz
              - make_interval(secs => COALESCE(p.min_vote_ms, %(min_vote_ms)s::integer) / 1000.0)
        FOR UPDATE OF a
    ),
    counted AS (
        UPDATE annotation_image AS i
        SET counted_votes = i.counted_votes + CASE WHEN own.is_gold THEN 0 ELSE 1 END, reserved = i.reserved - 1
        FROM own WHERE i.id = own.image_id
        RETURNING i.id
    ),
    vote AS (
        INSERT INTO annotation_vote (image_id, annotator_id, label, time_taken_ms, counted, late, is_gold, created_at)
        SELECT counted.id, %(annotator)s::integer, %(label)s::smallint, %(time_taken_ms)s::integer, NOT own.is_gold,
               false, own.is_gold, %(now)s::timestamptz
        FROM counted, own
        RETURNING id
    ),
    closed AS (
        UPDATE annotation_assignment AS a SET status = 'voted' FROM own, vote WHERE a.id = own.id
        RETURNING a.id
    )"""

_VOTE_OPEN_SQL = (
    """
    WITH """
    + _VOTE_CTES
    + """
    SELECT vote.id, own.image_id, own.project_id, own.is_gold FROM vote, own, closed
"""
)


def _written_vote(
    *, vote_id: int, image_id: int, is_gold: bool, annotator: AbstractBaseUser, label: int, time_taken_ms: int | None,
    now: datetime,
) -> Vote:  # fmt: skip
    return Vote(
        pk=vote_id,
        image_id=image_id,
        annotator=annotator,
        label=label,
        time_taken_ms=time_taken_ms,
        counted=not is_gold,
        late=False,
        is_gold=is_gold,
        created_at=now,
    )


def vote_create_on_open_reservation(
    *, annotator: AbstractBaseUser, assignment_id: int, label: int, time_taken_ms: int | None
) -> tuple[VoteOutcome, int] | None:
    """The common vote in one statement: ``(outcome, project_id)``, or ``None`` when the
    assignment is not ``annotator``'s live reservation, in which case
    nothing was written and :func:`vote_create` decides."""
    now = timezone.now()
    params = {
        "assignment": assignment_id,
        "annotator": annotator.pk,
        "label": label,
        "time_taken_ms": time_taken_ms,
        "now": now,
        "min_vote_ms": settings.RAF_MIN_VOTE_MS,
    }
    try:
        # One statement commits by itself (no BEGIN/COMMIT round trips); inside a caller's
        # transaction a savepoint keeps a refused insert from breaking it.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            rows = fetch_prepared(_VOTE_OPEN_SQL, params)
    except IntegrityError as exc:
        raise _integrity_error(exc) from exc
    if not rows:
        return None
    [(vote_id, image_id, project_id, is_gold)] = rows
    vote = _written_vote(
        vote_id=vote_id, image_id=image_id, is_gold=is_gold, annotator=annotator, label=label,
        time_taken_ms=time_taken_ms, now=now,
    )  # fmt: skip
    return VoteOutcome(vote=vote, notice=None), project_id


# The whole vote request in one statement: _VOTE_OPEN_SQL, then (only when the vote was
# written and the assignment's project is %(project)s) the claim of claim_ctes, one slot per
# draw, then the annotator's vote counters for the progress. Every part reads the snapshot from
# before the statement, so the voted assignment still looks open (%(voted)s leaves it out of the
# live cap) and the new vote is not yet counted (the triggers add it after the statement: +1).
# The claim never picks the voted image: the annotator already has an assignment on it.
_VOTE_AND_NEXT_SQL = {
    gold: """
    WITH """
    + _VOTE_CTES
    + ","
    + claim_ctes(
        gold=gold,
        guard="EXISTS (SELECT 1 FROM own WHERE own.project_id = %(project)s::bigint) AND EXISTS (SELECT 1 FROM vote)",
    )
    + """
    SELECT vote.id, own.image_id, own.project_id, own.is_gold, q.votes_total, q.day_start, q.votes_before_day,
           """
    + CLAIMED_ARRAY_SQL
    + """
    FROM vote, closed, own
    LEFT JOIN annotation_qualification q ON q.annotator_id = %(annotator)s::integer AND q.project_id = own.project_id
"""
    for gold in (False, True)
}


@dataclass(frozen=True)
class VoteAndNext:
    outcome: VoteOutcome
    project_id: int
    # (assignment id, image id, width, height, is gold) of the images claimed in the same
    # statement; None when the claim was not part of it (another project than the one guessed).
    claimed: list[tuple[int, int, int, int, int]] | None
    # The annotator's votes in the project today and in total, this one included; None when the
    # counters cannot say (no qualification, or the first vote of a day): progress selectors do.
    today: int | None
    total: int | None


def vote_create_and_claim_on_open_reservation(
    *,
    annotator: AbstractBaseUser,
    assignment_id: int,
    label: int,
    time_taken_ms: int | None,
    project: Project,
    draws: Sequence[bool],
    now: datetime,
    midnight: datetime,
) -> VoteAndNext | None:
    """:func:`vote_create_on_open_reservation`, then in the same statement (so one round trip
    and one commit) the claim of one image of ``project`` per slot of ``draws`` (the caller
    checked the qualification and drew the gold slots: :func:`assignment_claim_draws`) and the
    annotator's vote counts. ``None``: not a live reservation, nothing written."""
    params = {
        **claim_params(annotator=annotator, project=project, draws=draws, now=now, voted=assignment_id),
        "assignment": assignment_id,
        "label": label,
        "time_taken_ms": time_taken_ms,
        "midnight": midnight,
        "min_vote_ms": settings.RAF_MIN_VOTE_MS,
    }
    for _attempt in range(3):
        try:
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                rows = fetch_prepared(_VOTE_AND_NEXT_SQL[any(draws)], params)
            break
        except IntegrityError as exc:
            if "assignment_unique_annotator_image" not in str(exc):
                raise _integrity_error(exc) from exc
            # The same annotator's other tab reserved the same image in the same instant; the
            # whole statement (the vote too) was rolled back. Again: that image is now excluded.
    else:
        return None  # the general path: vote, then claim on its own
    if not rows:
        return None
    [(vote_id, image_id, project_id, is_gold, votes_total, day_start, votes_before_day, claimed)] = rows
    vote = _written_vote(
        vote_id=vote_id, image_id=image_id, is_gold=is_gold, annotator=annotator, label=label,
        time_taken_ms=time_taken_ms, now=now,
    )  # fmt: skip
    return VoteAndNext(
        outcome=VoteOutcome(vote=vote, notice=None),
        project_id=project_id,
        claimed=[tuple(row) for row in claimed] if project_id == project.pk else None,
        today=votes_total + 1 - votes_before_day if votes_total is not None and day_start == midnight else None,
        total=votes_total + 1 if votes_total is not None else None,
    )


def _lock_own(*, annotator: AbstractBaseUser, assignment: Assignment) -> Assignment:
    locked = (
        Assignment.objects.select_for_update()
        .only("id", "image_id", "annotator_id", "status", "is_gold", "created_at")
        .filter(pk=assignment.pk)
        .first()
    )
    if locked is not None:
        # The image fields used here (id, project, gold label) never change: the caller's copy does.
        locked.image = assignment.image
    if locked is None or locked.annotator_id != annotator.pk:
        raise ServiceError("This assignment is not yours.", code="not_your_assignment", status_code=403)
    if locked.status == AssignmentStatus.VOTED:
        raise ServiceError("You have already voted on this image.", code="already_voted", status_code=409)
    if locked.status == AssignmentStatus.REPORTED:
        raise ServiceError("You reported this image.", code="already_reported", status_code=409)
    return locked


def _require_time_to_look(*, assignment: Assignment) -> None:
    """Refuse a vote sooner after the claim than the project's minimum (``Project.min_vote_ms``,
    else ``RAF_MIN_VOTE_MS``): nobody judges a face in less, a script voting blind does."""
    project = assignment.image.project
    minimum_ms = project.min_vote_ms if project.min_vote_ms is not None else settings.RAF_MIN_VOTE_MS
    waited_ms = (timezone.now() - assignment.created_at).total_seconds() * 1000
    if assignment.status == AssignmentStatus.OPEN and waited_ms < minimum_ms:
        raise ServiceError(
            f"Too fast: look at the face for at least {minimum_ms} ms before answering.",
            code="too_fast",
            details={"min_vote_ms": minimum_ms, "retry_after_ms": int(minimum_ms - waited_ms) + 1},
            status_code=429,
        )


def _write_vote(
    *, annotator: AbstractBaseUser, assignment: Assignment, label: int, time_taken_ms: int | None
) -> VoteOutcome:
    image = assignment.image
    was_open = assignment.status == AssignmentStatus.OPEN
    notice = None
    if assignment.is_gold:
        # Scored on the qualification by the database's triggers when the vote is inserted.
        counted = late = False
        if was_open:
            Image.objects.filter(pk=image.pk).update(reserved=F("reserved") - 1)
    elif was_open:
        # The reservation held this slot, so the check constraint can only trip on a bug.
        Image.objects.filter(pk=image.pk).update(counted_votes=F("counted_votes") + 1, reserved=F("reserved") - 1)
        counted, late = True, False
    else:
        counted = bool(
            Image.objects.filter(pk=image.pk, counted_votes__lt=F("votes_wanted") - F("reserved")).update(
                counted_votes=F("counted_votes") + 1
            )
        )
        late = not counted
        notice = None if counted else LATE_NOTICE
    vote = Vote.objects.create(
        image=image,
        annotator=annotator,
        label=label,
        time_taken_ms=time_taken_ms,
        counted=counted,
        late=late,
        is_gold=assignment.is_gold,
    )
    Assignment.objects.filter(pk=assignment.pk).update(status=AssignmentStatus.VOTED)
    return VoteOutcome(vote=vote, notice=notice)


def _require_integers(label: object, time_taken_ms: object) -> None:
    # The types only: whether the label is one of the project's classes is the database's check.
    if type(label) is not int:
        raise ServiceError("label must be an integer.", code="invalid_label")
    if time_taken_ms is not None and (type(time_taken_ms) is not int or time_taken_ms < 0):
        raise ServiceError("time_taken_ms must be a whole number of milliseconds, not negative.", code="invalid_time")


_LABEL_REFUSED = re.compile(r"vote_label_in_classes: label (-?\d+) is not one of the project's (\d+) classes")


def _integrity_error(exc: IntegrityError) -> ServiceError:
    text = str(exc)
    refused = _LABEL_REFUSED.search(text)
    if "vote_annotator_paused" in text:
        return paused_error()
    if "vote_label_nonneg" in text:
        return ServiceError("label must not be negative.", code="invalid_label")
    if refused:
        n_classes = int(refused.group(2))
        return ServiceError(
            f"label must be an integer from 0 to {n_classes - 1}.",
            code="invalid_label",
            details={"n_classes": n_classes},
        )
    if "qualification_within_quota" in text:
        return ServiceError(
            "You have given all the answers this study asks for; thank you.", code="quota_reached", status_code=409
        )
    if "vote_unique_annotator_image" in text:
        return ServiceError("You have already voted on this image.", code="already_voted", status_code=409)
    if "image_counted_le_wanted" in text:
        return ServiceError("This image has all the votes it needs.", code="image_full", status_code=409)
    return ServiceError("The vote could not be stored.", code="conflict", status_code=409)


def image_report_create(*, annotator: AbstractBaseUser, assignment: Assignment, reason: str) -> ImageReport:
    """Flag the image of the annotator's reservation ("no face / can't see") instead of voting,
    and release the reservation."""
    reason = (reason or "").strip() or "no face / can't see"
    if len(reason) > 200:
        raise ServiceError("reason must be at most 200 characters.", code="invalid_reason")
    try:
        with transaction.atomic():
            locked = _lock_own(annotator=annotator, assignment=assignment)
            if locked.status == AssignmentStatus.OPEN:
                Image.objects.filter(pk=locked.image_id).update(reserved=F("reserved") - 1)
            report = ImageReport.objects.create(image_id=locked.image_id, annotator=annotator, reason=reason)
            Assignment.objects.filter(pk=locked.pk).update(status=AssignmentStatus.REPORTED)
    except IntegrityError as exc:
        raise ServiceError("You already reported this image.", code="already_reported", status_code=409) from exc
    return report


# --- The vote request -----------------------------------------------------------------------


@dataclass(frozen=True)
class VoteSubmission:
    """What a vote request answers: the vote, the next images and the annotator's progress."""

    outcome: VoteOutcome
    following: list[Assignment]
    progress: Progress
    out_of_work: bool


def next_and_progress(
    *, annotator: AbstractBaseUser, project: Project, n_next: int
) -> tuple[list[Assignment], Progress]:
    """Claim up to ``n_next`` images after a vote or report (already committed) and read the
    progress. A refused claim (e.g. not qualified any more) gives no next image."""
    try:
        following = assignment_claim_next(annotator=annotator, project=project, count=n_next) if n_next else []
    except ServiceError:
        following = []
    return following, annotator_progress(annotator=annotator, project=project)


def vote_submit(
    *, annotator: AbstractBaseUser, assignment_id: int, label: int, time_taken_ms: int | None, n_next: int
) -> VoteSubmission:
    """The whole vote request: store the vote on the annotator's assignment ``assignment_id``,
    claim ``n_next`` images of the same project and read the progress.

    Nearly every vote is on a live reservation in the project of the annotator's last claim: one
    statement does all of it. Otherwise the vote statement alone, then the claim; and anything
    else (an expired reservation, someone else's assignment, a refusal) takes :func:`vote_create`.
    """
    _require_integers(label, time_taken_ms)
    guessed = annotator_last_project(annotator_id=annotator.pk)
    if guessed is not None:
        try:
            project = project_get_cached(project_id=guessed)
        except Project.DoesNotExist:
            project = None
        if project is not None:
            merged = _vote_and_claim(
                annotator=annotator, assignment_id=assignment_id, label=label, time_taken_ms=time_taken_ms,
                project=project, n_next=n_next,
            )  # fmt: skip
            if merged is not None:
                return merged
    single = vote_create_on_open_reservation(
        annotator=annotator, assignment_id=assignment_id, label=label, time_taken_ms=time_taken_ms
    )
    if single is not None:
        outcome, project_id = single
        project = project_get_cached(project_id=project_id)
    else:
        assignment = (
            Assignment.objects.select_related("image__project").filter(pk=assignment_id, annotator=annotator).first()
        )
        if assignment is None:
            # Someone else's assignment is "not found", so ids reveal nothing.
            raise ServiceError("No such assignment of yours.", code="not_found", status_code=404)
        outcome = vote_create(annotator=annotator, assignment=assignment, label=label, time_taken_ms=time_taken_ms)
        project = assignment.image.project
    annotator_project_remember(annotator_id=annotator.pk, project_id=project.pk)
    following, progress = next_and_progress(annotator=annotator, project=project, n_next=n_next)
    return VoteSubmission(outcome, following, progress, out_of_work=bool(n_next and not following))


def _vote_and_claim(
    *, annotator: AbstractBaseUser, assignment_id: int, label: int, time_taken_ms: int | None, project: Project,
    n_next: int,
) -> VoteSubmission | None:  # fmt: skip
    draws: list[bool] = []  # one per slot to claim (True: gold); none when not qualified
    if n_next:
        try:
            draws = assignment_claim_draws(annotator=annotator, project=project, count=n_next)
        except ServiceError:
            pass  # no next image (a claim on its own says why)
    now = timezone.now()
    merged = vote_create_and_claim_on_open_reservation(
        annotator=annotator,
        assignment_id=assignment_id,
        label=label,
        time_taken_ms=time_taken_ms,
        project=project,
        draws=draws,
        now=now,
        midnight=timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
    )
    if merged is None:
        return None
    if merged.claimed is not None:
        following = assignments_from_rows(merged.claimed, annotator=annotator, project=project, now=now)
    else:
        # The vote was in another project than the one guessed: claim there on its own.
        project = project_get_cached(project_id=merged.project_id)
        annotator_project_remember(annotator_id=annotator.pk, project_id=project.pk)
        try:
            following = assignment_claim_next(annotator=annotator, project=project, count=n_next) if n_next else []
        except ServiceError:
            following = []
    if merged.total is not None:
        answers_note(annotator_id=annotator.pk, project=project, answers=merged.total)
    if merged.today is not None and merged.total is not None:
        remaining = annotator_remaining(annotator_id=annotator.pk, project=project, total=merged.total)
        progress = Progress(today=merged.today, total=merged.total, remaining=remaining, finished=remaining == 0)
    else:  # the first vote of the day (or no counters): the progress service starts the day
        progress = annotator_progress(annotator=annotator, project=project)
    return VoteSubmission(merged.outcome, following, progress, out_of_work=bool(n_next and not following))

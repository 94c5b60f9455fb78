"""Spammer control: flags from the live update, and the admin review queue's actions.

``annotator_flag`` records a flag (and pauses at once when the project says so); an admin
then pauses, resumes, clears or excludes. A paused or excluded annotator can neither claim nor
vote, from the next statement on in every process, and sees :data:`PAUSED_MESSAGE`
(:func:`paused_error`): a database trigger copies the flag's state onto the annotator's
qualification row (``Qualification.paused``), which the claim statement reads and the
vote-counter trigger checks on every inserted vote under that row's lock, so a pause waits for
a vote in flight and no later vote is stored (migration 0015).

Excluding is one transaction on Postgres: the flag becomes ``excluded`` first (its trigger
locks the qualification row: votes in flight finish, later ones are refused), then the
annotator's counted votes in the project, all of them by then, become uncounted, each affected
image's ``counted_votes`` drops by as many, and its ``votes_wanted`` goes back to the project's
(an adaptive image retired early returns to the pool), so the claim serves those images again
for replacement votes. The image rows are locked in id order first,
so two exclusions never deadlock, and the counters move in the same statement as the votes, so
a concurrent vote or claim sees either all of it or none.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import AnnotatorFlag, FlagStatus, Project

PAUSED_MESSAGE = (
    "Your annotation in this project is paused while an administrator reviews your recent answers. "
    "You will be able to continue if the review clears you."
)


def paused_error() -> ServiceError:
    """What a paused or excluded annotator's claim or vote answers (403, code ``paused``)."""
    return ServiceError(PAUSED_MESSAGE, code="paused", status_code=403)


def annotator_flag(
    *, project: Project, annotator_id: int, reason: str, answers: int, evidence: dict[str, Any] | None = None
) -> AnnotatorFlag | None:
    """Record a spammer flag unless the annotator already has one in the project (an admin's
    verdict, cleared included, stands). Pauses at once under ``spammer_action="pause"``.
    Returns the new flag, or None."""
    status = FlagStatus.PAUSED if project.spammer_action == "pause" else FlagStatus.FLAGGED
    flag, created = AnnotatorFlag.objects.get_or_create(
        project=project,
        annotator_id=annotator_id,
        defaults={"reason": reason, "status": status, "answers_at_flag": answers, "evidence": evidence or {}},
    )
    return flag if created else None


def flag_review(*, flag: AnnotatorFlag, action: str, by: AbstractBaseUser) -> AnnotatorFlag:
    """An admin's decision: ``"pause"``, ``"resume"`` (back to flagged, counting), ``"clear"``
    (not a spammer; never flagged again in this project) or ``"exclude"``."""
    if action == "exclude":
        return annotator_exclude(flag=flag, by=by)
    target = {"pause": FlagStatus.PAUSED, "resume": FlagStatus.FLAGGED, "clear": FlagStatus.CLEARED}.get(action)
    if target is None:
        raise ServiceError("action must be pause, resume, clear or exclude.", code="invalid_action")
    if flag.status == FlagStatus.EXCLUDED:
        raise ServiceError("The annotator's votes are already excluded.", code="already_excluded")
    AnnotatorFlag.objects.filter(pk=flag.pk).update(status=target, reviewed_at=timezone.now(), reviewed_by=by)
    flag.refresh_from_db()
    return flag


_EXCLUDE_SQL = """
WITH mine AS (
    SELECT v.id, v.image_id FROM annotation_vote v
    JOIN annotation_image i ON i.id = v.image_id
    WHERE v.annotator_id = %(annotator)s AND i.project_id = %(project)s AND v.counted
),
locked AS (
    SELECT i.id FROM annotation_image i WHERE i.id IN (SELECT image_id FROM mine) ORDER BY i.id FOR UPDATE
),
gone AS (
    UPDATE annotation_vote v SET counted = false FROM mine WHERE v.id = mine.id AND EXISTS (SELECT 1 FROM locked)
    RETURNING v.image_id
),
per_image AS (SELECT image_id, count(*) AS n FROM gone GROUP BY image_id)
UPDATE annotation_image i
SET counted_votes = i.counted_votes - per_image.n, votes_wanted = GREATEST(i.votes_wanted, %(wanted)s)
FROM per_image WHERE i.id = per_image.image_id
RETURNING per_image.n
"""


def annotator_exclude(*, flag: AnnotatorFlag, by: AbstractBaseUser | None) -> AnnotatorFlag:
    """Exclude the flagged annotator's votes in the project (see the module docstring)."""
    project = flag.project
    with transaction.atomic():
        locked = AnnotatorFlag.objects.select_for_update().get(pk=flag.pk)
        first = locked.status != FlagStatus.EXCLUDED
        if first:
            # First: the trigger marks the qualification paused under its row lock, so every
            # vote that passed the check has committed and every later one is refused...
            AnnotatorFlag.objects.filter(pk=flag.pk).update(
                status=FlagStatus.EXCLUDED, reviewed_at=timezone.now(), reviewed_by=by
            )
        # ... and this statement, which sees them all, uncounts every one.
        removed = excluded_votes_uncount(project=project, annotator_id=flag.annotator_id)
        if first:
            AnnotatorFlag.objects.filter(pk=flag.pk).update(evidence={**locked.evidence, "votes_excluded": removed})
    locked.refresh_from_db()
    return locked


def excluded_votes_uncount(*, project: Project, annotator_id: int) -> int:
    """Make the annotator's counted votes in ``project`` uncounted, with the image counters, in
    one statement (Postgres); returns how many. Idempotent: the live update runs it again for
    excluded annotators, which catches a vote they cast on a reservation they held when excluded."""
    if connection.vendor != "postgresql":
        raise ServiceError("Excluding votes needs Postgres.", code="needs_postgres")
    with connection.cursor() as cursor:
        cursor.execute(_EXCLUDE_SQL, {"annotator": annotator_id, "project": project.pk, "wanted": project.votes_wanted})
        return int(sum(row[0] for row in cursor.fetchall()))

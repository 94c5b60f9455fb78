"""Undo: an annotator takes back their last answer while the image's reservation is open.

The vote row is deleted and kept as an :class:`~annotation.models.UndoneVote`, the image's slot
goes back from ``counted_votes`` to ``reserved`` (the reservation holds it again) and the
assignment is ``open`` again, in one transaction: the annotator answers again through the
ordinary vote path. The database keeps it honest: the assignment is reopened by a
compare-and-set (voted, not expired), a vote is taken back once (``UndoneVote.vote_id`` is
unique), the image's counters keep their check constraints, and the vote-counter triggers
take the deleted vote off the annotator's progress and gold score, so only the answer that
stands is counted and both answers stay on record.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, UndoneVote, Vote
from annotation.models.assignment import AssignmentStatus


def vote_undo(*, annotator: AbstractBaseUser, vote_id: int) -> Assignment:
    """Take back ``annotator``'s vote ``vote_id`` (their latest in its project) and reopen its
    reservation; returns the reopened assignment. ``ServiceError`` with a sentence otherwise."""
    now = timezone.now()
    try:
        with transaction.atomic():
            vote = (
                Vote.objects.select_for_update(of=("self",))
                .select_related("image")
                .filter(pk=vote_id, annotator=annotator)
                .first()
            )
            if vote is None:
                raise ServiceError("No such vote of yours.", code="not_found", status_code=404)
            later = Vote.objects.filter(
                annotator=annotator, image__project_id=vote.image.project_id, created_at__gt=vote.created_at
            ).exists()
            if later:
                raise ServiceError("Only your last answer can be undone.", code="not_last", status_code=409)
            if vote.late:
                raise ServiceError(
                    "This answer came after its reservation had ended, so it cannot be undone.",
                    code="undo_expired",
                    status_code=409,
                )
            reopened = Assignment.objects.filter(
                annotator=annotator, image_id=vote.image_id, status=AssignmentStatus.VOTED, expires_at__gt=now
            ).update(status=AssignmentStatus.OPEN)
            if not reopened:
                raise ServiceError(
                    "The reservation of this face has ended, so its answer stands.",
                    code="undo_expired",
                    status_code=409,
                )
            assignment = Assignment.objects.select_related("image").get(annotator=annotator, image_id=vote.image_id)
            UndoneVote.objects.create(
                vote_id=vote.pk,
                image_id=vote.image_id,
                annotator=annotator,
                assignment=assignment,
                label=vote.label,
                time_taken_ms=vote.time_taken_ms,
                counted=vote.counted,
                is_gold=vote.is_gold,
                created_at=vote.created_at,
                undone_at=max(now, vote.created_at),
            )
            counted = vote.counted
            vote.delete()
            # The reservation holds the slot again (a gold vote never took a counted one).
            Image.objects.filter(pk=vote.image_id).update(
                counted_votes=F("counted_votes") - (1 if counted else 0), reserved=F("reserved") + 1
            )
    except IntegrityError as exc:
        raise ServiceError("This answer was already undone.", code="already_undone", status_code=409) from exc
    return assignment

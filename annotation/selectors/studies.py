"""Reads about studies: whose enrolment an account is, how far a participant got, and the
per-study work log that pays them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.db.models.functions import Least
from django.utils import timezone

from annotation.models import Assignment, Image, ImageStatus, Project, Qualification, Study, StudyEnrolment, Vote
from annotation.models.assignment import AssignmentStatus

# One vote counts at most this long towards "active time": a participant who leaves a face on
# screen for ten minutes did not work for ten minutes.
ACTIVE_TIME_CAP_MS = 60_000


def enrolment_for_annotator(*, annotator: AbstractBaseUser | AnonymousUser) -> StudyEnrolment | None:
    """The study enrolment of a participant's account, or ``None`` for every other account."""
    if not annotator.is_authenticated:
        return None
    cached = getattr(annotator, "_raf_enrolment", False)
    if cached is False:
        cached = StudyEnrolment.objects.select_related("study__project").filter(annotator=annotator).first()
        annotator._raf_enrolment = cached  # type: ignore[union-attr]
    return cached


def enrolment_votes(*, enrolment: StudyEnrolment) -> int:
    """The participant's votes in the study's project (gold checks included: they look the
    same to the participant), read from the counters the database keeps."""
    total = (
        Qualification.objects.filter(annotator_id=enrolment.annotator_id, project_id=enrolment.study.project_id)
        .values_list("votes_total", flat=True)
        .first()
    )
    return int(total or 0)


def study_work_left(*, annotator: AbstractBaseUser, project: Project) -> bool:
    """Whether the claim could still serve ``annotator`` a face in ``project``: a live
    reservation of theirs, or a ready regular image that needs votes and they have not seen."""
    now = timezone.now()
    if Assignment.objects.filter(
        annotator=annotator, image__project=project, status=AssignmentStatus.OPEN, expires_at__gt=now
    ).exists():
        return True
    seen = Assignment.objects.filter(image=OuterRef("pk"), annotator=annotator)
    voted = Vote.objects.filter(image=OuterRef("pk"), annotator=annotator)
    return (
        Image.objects.filter(project=project, status=ImageStatus.READY, is_gold=False, load__lt=F("votes_wanted"))
        .exclude(Exists(seen))
        .exclude(Exists(voted))
        .exists()
    )


@dataclass(frozen=True)
class WorkLogRow:
    """One participant of a study. The market's ids (participant, study, session) are empty once the
    study's links were deleted; ``pseudonym`` stays (the annotator profile's)."""

    enrolment_id: int
    participant_id: str
    market_study_id: str
    session_id: str
    pseudonym: str
    status: str
    votes: int
    gold_seen: int
    gold_correct: int
    active_s: float
    elapsed_s: float
    started_at: datetime
    finished_at: datetime | None
    bonus: Decimal
    flags: tuple[str, ...]

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_seen if self.gold_seen else None


def participant_flags(*, enrolment: StudyEnrolment, votes: int, gold_seen: int, gold_correct: int) -> tuple[str, ...]:
    """Warnings about a participant for whoever approves payment (one word each).

    The one place the work log's flags come from: the spammer rules (issue 14) plug in here.
    Until they exist nothing is flagged."""
    return ()


def study_work_log(*, study: Study) -> list[WorkLogRow]:
    """Every participant of ``study`` with votes, gold accuracy, time and flags, oldest first."""
    enrolments = list(
        StudyEnrolment.objects.filter(study=study)
        .select_related("link", "annotator__annotator")
        .order_by("started_at", "pk")
    )
    user_ids = [e.annotator_id for e in enrolments]
    votes = {
        row["annotator_id"]: row
        for row in Vote.objects.filter(annotator_id__in=user_ids, image__project_id=study.project_id)
        .values("annotator_id")
        .annotate(n=Count("id"), ms=Sum(Least(F("time_taken_ms"), ACTIVE_TIME_CAP_MS)), last=Max("created_at"))
        .order_by()
    }
    standing = {
        q.annotator_id: q for q in Qualification.objects.filter(annotator_id__in=user_ids, project_id=study.project_id)
    }
    rows: list[WorkLogRow] = []
    for enrolment in enrolments:
        tally = votes.get(enrolment.annotator_id, {})
        qualification = standing.get(enrolment.annotator_id)
        n_votes = int(tally.get("n") or 0)
        gold_seen = qualification.gold_seen if qualification else 0
        gold_correct = qualification.gold_correct if qualification else 0
        finished = enrolment.completed_at or enrolment.screened_out_at
        last = finished or tally.get("last") or enrolment.last_entry_at
        link = getattr(enrolment, "link", None)
        profile = getattr(enrolment.annotator, "annotator", None)
        bonus = (study.bonus_per_vote * n_votes).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        rows.append(
            WorkLogRow(
                enrolment_id=enrolment.pk,
                participant_id=link.participant_id if link else "",
                market_study_id=link.market_study_id if link else "",
                session_id=link.session_id if link else "",
                pseudonym=str(profile.pseudonym) if profile else "",
                status=enrolment.status,
                votes=n_votes,
                gold_seen=gold_seen,
                gold_correct=gold_correct,
                active_s=int(tally.get("ms") or 0) / 1000,
                elapsed_s=max(0.0, (last - enrolment.started_at).total_seconds()),
                started_at=enrolment.started_at,
                finished_at=finished,
                bonus=bonus if enrolment.completed_at else Decimal("0.00"),
                flags=participant_flags(
                    enrolment=enrolment, votes=n_votes, gold_seen=gold_seen, gold_correct=gold_correct
                ),
            )
        )
    return rows


def studies_list(*, project: Project | None = None) -> list[Study]:
    """Studies, newest first, each with ``n_participants`` and ``n_completed``."""
    queryset = Study.objects.select_related("project").annotate(
        n_participants=Count("enrolments"),
        n_completed=Count("enrolments", filter=Q(enrolments__completed_at__isnull=False)),
    )
    if project is not None:
        queryset = queryset.filter(project=project)
    return list(queryset.order_by("-created_at", "-pk"))

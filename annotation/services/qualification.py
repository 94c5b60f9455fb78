"""Tutorial and qualification quiz: what an annotator must pass before claiming images.

The quiz asks ``Project.quiz_questions`` gold images (``Image.is_gold`` with a ``gold_label``)
and passes at ``Project.quiz_pass_mark`` (a share of right answers). The questions of the
attempt in progress stay on the server (``Qualification.quiz_current``); the page holds only an
opaque random token (``Qualification.quiz_token``), which names nothing: a signed token that
carried the image ids let anyone read which images are gold. The submit is a compare-and-set on
the token and ``Qualification.quiz_attempts``, so one token scores at most once. Every image an
annotator was asked is remembered (``Qualification.quiz_seen``) and never served to them as a
gold check, and tutorial examples never to anyone (:mod:`annotation.services.assignment`).
After a failed attempt the annotator waits ``Project.quiz_retry_delay_s`` seconds. Feedback is the score only: the
answers are never revealed.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.fields import ArrayField
from django.db import transaction
from django.db.models import BigIntegerField, F, Value
from django.db.models.expressions import Func
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Image, ImageStatus, Project, Qualification

# A quiz left open longer than this must be started again (its token expires).
QUIZ_MAX_AGE_S = 2 * 3600


@dataclass(frozen=True)
class Quiz:
    """One quiz attempt handed to the page: the images to show, in order, and its token."""

    token: str
    images: tuple[Image, ...]


@dataclass(frozen=True)
class QuizResult:
    """The outcome the annotator sees: score only, never which answers were right."""

    correct: int
    total: int
    passed: bool
    retry_at: datetime | None

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else 0.0


def qualification_get(*, annotator: AbstractBaseUser, project: Project) -> Qualification:
    """The annotator's qualification row for ``project``, created on first use."""
    qualification, _ = Qualification.objects.get_or_create(annotator=annotator, project=project)
    return qualification


def tutorial_example_images(*, project: Project) -> dict[int, Image]:
    """One gold image per class label (the lowest id), used as the tutorial's examples."""
    examples: dict[int, Image] = {}
    for image in Image.objects.filter(project=project, is_gold=True).order_by("gold_label", "id"):
        examples.setdefault(int(image.gold_label), image)  # type: ignore[arg-type]
    return examples


def qualification_mark_tutorial_read(*, annotator: AbstractBaseUser, project: Project) -> Qualification:
    """Record that the annotator read the tutorial. A project without a quiz qualifies at once."""
    qualification = qualification_get(annotator=annotator, project=project)
    now = timezone.now()
    fields: dict[str, object] = {}
    if qualification.tutorial_read_at is None:
        fields["tutorial_read_at"] = now
    if project.quiz_questions == 0 and qualification.qualified_at is None:
        fields["qualified_at"] = now
    if fields:
        Qualification.objects.filter(pk=qualification.pk).update(**fields)
        qualification.refresh_from_db()
    return qualification


def quiz_retry_at(*, qualification: Qualification, project: Project) -> datetime | None:
    """When the annotator may try the quiz again, or None when they may now."""
    if qualification.last_quiz_at is None or qualification.is_qualified:
        return None
    retry_at = qualification.last_quiz_at + timedelta(seconds=project.quiz_retry_delay_s)
    return retry_at if retry_at > timezone.now() else None


def _quiz_pool(project: Project) -> list[int]:
    """Gold images to draw questions from, keeping the tutorial's examples out when the rest
    suffice (their answers are shown in the tutorial)."""
    gold = list(
        Image.objects.filter(project=project, is_gold=True)
        .exclude(status__in=[ImageStatus.REJECTED, ImageStatus.RETIRED])
        .values_list("id", flat=True)
    )
    shown = {image.id for image in tutorial_example_images(project=project).values()}
    unseen = [image_id for image_id in gold if image_id not in shown]
    return unseen if len(unseen) >= project.quiz_questions else gold


def qualification_quiz_start(
    *, annotator: AbstractBaseUser, project: Project, rng: random.Random | None = None
) -> Quiz:
    """Draw a quiz attempt. Refuses before the tutorial, during the retry delay, once qualified,
    and when the project holds no gold images."""
    qualification = qualification_get(annotator=annotator, project=project)
    if qualification.is_qualified:
        raise ServiceError("You are already qualified for this project.", code="already_qualified", status_code=409)
    if qualification.tutorial_read_at is None:
        raise ServiceError("Read the tutorial first.", code="tutorial_not_read", status_code=403)
    retry_at = quiz_retry_at(qualification=qualification, project=project)
    if retry_at is not None:
        raise ServiceError(
            "You can try the quiz again later.",
            code="quiz_retry_later",
            details={"retry_at": retry_at.isoformat()},
            status_code=429,
        )
    pool = _quiz_pool(project)
    if not pool:
        raise ServiceError(
            "This project has no quiz questions yet; an admin must mark gold images.",
            code="quiz_unavailable",
            status_code=409,
        )
    chosen = (rng or random.Random()).sample(pool, min(project.quiz_questions, len(pool)))
    images = Image.objects.in_bulk(chosen)
    token = secrets.token_urlsafe(32)
    # The attempt lives here; quiz_seen keeps every image ever asked (ARRAY(SELECT DISTINCT ...)).
    Qualification.objects.filter(pk=qualification.pk).update(
        quiz_token=token,
        quiz_current=chosen,
        quiz_started_at=timezone.now(),
        quiz_seen=_ArrayUnion(F("quiz_seen"), chosen),
    )
    return Quiz(token=token, images=tuple(images[image_id] for image_id in chosen))


class _ArrayUnion(Func):
    """``ARRAY(SELECT DISTINCT unnest(a || b))`` for two bigint arrays."""

    template = "ARRAY(SELECT DISTINCT unnest(%(expressions)s))"
    arg_joiner = " || "

    def __init__(self, column: F, values: list[int]) -> None:
        super().__init__(
            column,
            Value(values, output_field=ArrayField(BigIntegerField())),
            output_field=ArrayField(BigIntegerField()),
        )


def _live_attempt(token: str) -> Qualification | None:
    if not token:
        return None
    cutoff = timezone.now() - timedelta(seconds=QUIZ_MAX_AGE_S)
    return Qualification.objects.filter(quiz_token=token, quiz_started_at__gt=cutoff).first()


def quiz_image_ids(*, token: str) -> list[int]:
    """The image ids of the attempt ``token`` names, in question order (empty for an unknown,
    used or expired token)."""
    attempt = _live_attempt(token)
    return [int(image_id) for image_id in attempt.quiz_current] if attempt is not None else []


def qualification_quiz_submit(
    *, annotator: AbstractBaseUser, project: Project, token: str, answers: dict[int, int]
) -> QuizResult:
    """Score an attempt. ``answers`` maps image id to the chosen 0-based label; a missing
    answer counts as wrong. Passing sets ``qualified_at``; failing starts the retry delay."""
    qualification = qualification_get(annotator=annotator, project=project)
    if not token or token != qualification.quiz_token:
        raise ServiceError("This quiz is not valid; start it again.", code="quiz_invalid")
    started = qualification.quiz_started_at
    if started is None or started <= timezone.now() - timedelta(seconds=QUIZ_MAX_AGE_S):
        raise ServiceError("This quiz expired; start it again.", code="quiz_expired")
    image_ids: list[int] = [int(i) for i in qualification.quiz_current]
    n_classes = project.n_classes
    for image_id, label in answers.items():
        if image_id not in image_ids:
            raise ServiceError("An answer is for an image outside this quiz.", code="quiz_invalid")
        if not 0 <= label < n_classes:
            raise ServiceError("An answer is not one of the project's classes.", code="invalid_label")
    gold = dict(Image.objects.filter(pk__in=image_ids, project=project, is_gold=True).values_list("id", "gold_label"))
    correct = sum(1 for image_id in image_ids if image_id in answers and gold.get(image_id) == answers[image_id])
    total = len(image_ids)
    passed = total > 0 and correct / total >= project.quiz_pass_mark - 1e-9
    now = timezone.now()
    fields: dict[str, object] = {
        "quiz_attempts": qualification.quiz_attempts + 1,
        "last_quiz_at": now,
        "quiz_token": "",
        "quiz_current": [],
    }
    if passed:
        fields["qualified_at"] = now
    with transaction.atomic():
        # Compare-and-set on the token and the attempt counter: a token scores once.
        updated = Qualification.objects.filter(
            pk=qualification.pk, quiz_token=token, quiz_attempts=qualification.quiz_attempts, qualified_at__isnull=True
        ).update(**fields)
    if not updated:
        raise ServiceError("This quiz was already submitted; start it again.", code="quiz_stale", status_code=409)
    waits = not passed and project.quiz_retry_delay_s > 0
    retry_at = now + timedelta(seconds=project.quiz_retry_delay_s) if waits else None
    return QuizResult(correct=correct, total=total, passed=passed, retry_at=retry_at)


def project_tutorial_update(
    *,
    project: Project,
    tutorial_text: str,
    quiz_questions: int,
    quiz_pass_mark: float,
    quiz_retry_delay_s: int,
) -> Project:
    """Change a project's tutorial text and quiz settings (admins)."""
    if quiz_questions < 0 or quiz_retry_delay_s < 0:
        raise ServiceError("Counts and delays cannot be negative.", code="invalid")
    if not 0.0 <= quiz_pass_mark <= 1.0:
        raise ServiceError("The pass mark is a share between 0 and 1.", code="invalid")
    project.tutorial_text = tutorial_text
    project.quiz_questions = quiz_questions
    project.quiz_pass_mark = quiz_pass_mark
    project.quiz_retry_delay_s = quiz_retry_delay_s
    project.save(update_fields=["tutorial_text", "quiz_questions", "quiz_pass_mark", "quiz_retry_delay_s"])
    return project

"""Tutorial and qualification quiz: what an annotator must pass before claiming images.

The quiz asks ``Project.quiz_questions`` gold images (``Image.is_gold`` with a ``gold_label``)
and passes at ``Project.quiz_pass_mark`` (a share of right answers). The questions of one
attempt travel to the browser and back in a signed token, so no extra table is needed; the
token carries the attempt number, and the submit is a compare-and-set on
``Qualification.quiz_attempts``, so one token scores at most once. After a failed attempt the
annotator waits ``Project.quiz_retry_delay_s`` seconds. Feedback is the score only: the
answers are never revealed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Image, ImageStatus, Project, Qualification

QUIZ_SIGNING_SALT = "raf.quiz"
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
    token = signing.dumps(
        {"q": qualification.pk, "n": qualification.quiz_attempts, "images": chosen}, salt=QUIZ_SIGNING_SALT
    )
    return Quiz(token=token, images=tuple(images[image_id] for image_id in chosen))


def quiz_image_ids(*, token: str) -> list[int]:
    """The image ids of a quiz token, in question order (empty for a bad or expired token)."""
    try:
        payload = signing.loads(token, salt=QUIZ_SIGNING_SALT, max_age=QUIZ_MAX_AGE_S)
    except signing.BadSignature:
        return []
    return [int(image_id) for image_id in payload.get("images", [])]


def qualification_quiz_submit(
    *, annotator: AbstractBaseUser, project: Project, token: str, answers: dict[int, int]
) -> QuizResult:
    """Score an attempt. ``answers`` maps image id to the chosen 0-based label; a missing
    answer counts as wrong. Passing sets ``qualified_at``; failing starts the retry delay."""
    qualification = qualification_get(annotator=annotator, project=project)
    try:
        payload = signing.loads(token, salt=QUIZ_SIGNING_SALT, max_age=QUIZ_MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise ServiceError("This quiz expired; start it again.", code="quiz_expired") from exc
    except signing.BadSignature as exc:
        raise ServiceError("This quiz is not valid; start it again.", code="quiz_invalid") from exc
    if payload.get("q") != qualification.pk:
        raise ServiceError("This quiz belongs to someone else.", code="quiz_invalid")
    image_ids: list[int] = [int(i) for i in payload["images"]]
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
    fields: dict[str, object] = {"quiz_attempts": payload["n"] + 1, "last_quiz_at": now}
    if passed:
        fields["qualified_at"] = now
    with transaction.atomic():
        # Compare-and-set on the attempt counter: a token scores once, and a quiz started
        # before another attempt was scored is stale.
        updated = Qualification.objects.filter(
            pk=qualification.pk, quiz_attempts=payload["n"], qualified_at__isnull=True
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

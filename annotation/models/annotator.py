from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class AnnotatorProfile(models.Model):
    """Per-user annotator facts. Roles are Django groups: annotator, researcher, admin."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotator")
    pseudonym = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    simulated = models.BooleanField(default=False, help_text="Created by simulate_votes.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"annotator {self.user_id}"


class Qualification(models.Model):
    """An annotator's standing in one project: tutorial, quiz, gold accuracy."""

    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualifications")
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="qualifications")
    tutorial_read_at = models.DateTimeField(null=True, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    quiz_attempts = models.PositiveIntegerField(default=0)
    last_quiz_at = models.DateTimeField(null=True, blank=True)
    # The quiz attempt in progress, kept here and never in the page: the page holds an opaque
    # random token, the questions are these gold images in this order.
    quiz_token = models.CharField(max_length=64, blank=True, default="", db_index=True)
    quiz_current = ArrayField(models.BigIntegerField(), default=list, blank=True)
    quiz_started_at = models.DateTimeField(null=True, blank=True)
    # Every gold image this annotator was ever asked in a quiz: never served to them as a gold check.
    quiz_seen = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # A project-scoped role: may correct faces and landmarks (and reject images) of this project.
    may_edit_faces = models.BooleanField(default=False)
    # Kept by database triggers on annotation_vote (migration 0006), for every way a vote is
    # written or deleted: the annotator's votes on gold images of the project and how many of
    # them match the gold label; all their votes on the project's images; and, for the progress
    # shown on every vote, how many of those were created before ``day_start`` (so the votes of
    # the day starting then are ``votes_total - votes_before_day``, without counting rows).
    gold_seen = models.PositiveIntegerField(default=0)
    gold_correct = models.PositiveIntegerField(default=0)
    votes_total = models.PositiveIntegerField(default=0)
    day_start = models.DateTimeField(null=True, blank=True)
    votes_before_day = models.PositiveIntegerField(default=0)
    # The most votes this annotator may give in the project (a crowd-market study's quota);
    # None: no limit. The database refuses the vote that would pass it (the counter triggers
    # raise votes_total, and qualification_within_quota refuses the row).
    vote_quota = models.PositiveIntegerField(null=True, blank=True)
    # Paused or excluded by the spammer review (AnnotatorFlag.status): a copy kept by database
    # triggers (migration 0015), never written by the application. The claim statement reads it
    # and the vote-counter trigger refuses an inserted vote when it is set, on this row, which it
    # updates anyway: a pause or an exclusion takes effect on the next statement of every process.
    paused = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "project"], name="qualification_unique"),
            models.CheckConstraint(
                condition=models.Q(gold_correct__lte=models.F("gold_seen")), name="qualification_gold_le_seen"
            ),
            models.CheckConstraint(
                condition=models.Q(votes_before_day__lte=models.F("votes_total")),
                name="qualification_day_le_total",
            ),
            models.CheckConstraint(
                condition=models.Q(vote_quota__isnull=True) | models.Q(votes_total__lte=models.F("vote_quota")),
                name="qualification_within_quota",
            ),
        ]

    @property
    def is_qualified(self) -> bool:
        return self.qualified_at is not None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_seen if self.gold_seen else None

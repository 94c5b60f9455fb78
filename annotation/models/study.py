"""Studies on crowd markets (Prolific, MTurk, or any site that sends a participant id).

Three tables, so that what identifies a person can be dropped on its own:

* ``Study``: the admin's settings (market, quota, codes, return URL, open or closed).
* ``StudyEnrolment``: one password-less annotator account per participant of a study, with
  when they started, finished or were screened out. It holds no market id: the work log,
  the votes and the exports go on working after the links are deleted.
* ``StudyParticipantLink``: the market's participant id (and session ids) of one enrolment.
  Only admins see it (the work log and payment CSV); an admin deletes a study's links once
  the market has paid, and nothing else in RAF refers to them.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class StudyMarket(models.TextChoices):
    PROLIFIC = "prolific", "Prolific"
    MTURK = "mturk", "Amazon Mechanical Turk"
    GENERIC = "generic", "Generic (any site)"


def new_entry_key() -> str:
    """The unguessable part of a study's entry URL."""
    return secrets.token_urlsafe(12)


class Study(models.Model):
    """A paid study of one project on one market: who may enter, how much they label, which
    code they get back."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="studies")
    name = models.CharField(max_length=200)
    market = models.CharField(max_length=10, choices=StudyMarket.choices, default=StudyMarket.PROLIFIC)
    entry_key = models.CharField(max_length=32, unique=True, default=new_entry_key, editable=False)
    quota = models.PositiveIntegerField(default=50, help_text="Votes each participant gives before completing.")
    completion_code = models.CharField(max_length=64)
    screened_out_code = models.CharField(max_length=64, blank=True)
    return_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Where a finished participant goes; {code} is replaced by the code they earned.",
    )
    market_study_id = models.CharField(
        max_length=100, blank=True, help_text="When set, entries with another study id (STUDY_ID/hitId) are refused."
    )
    bonus_per_vote = models.DecimalField(max_digits=8, decimal_places=4, default=0)
    is_open = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(quota__gte=1), name="study_quota_positive"),
            models.CheckConstraint(condition=models.Q(bonus_per_vote__gte=0), name="study_bonus_nonneg"),
            models.CheckConstraint(condition=~models.Q(completion_code=""), name="study_completion_code_set"),
        ]

    def __str__(self) -> str:
        return self.name


class StudyEnrolment(models.Model):
    """One participant of a study, as a password-less annotator account used for nothing else."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="enrolments")
    annotator = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment")
    started_at = models.DateTimeField(auto_now_add=True)
    last_entry_at = models.DateTimeField(auto_now_add=True)
    entries = models.PositiveIntegerField(default=1)
    completed_at = models.DateTimeField(null=True, blank=True)
    screened_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(completed_at__isnull=True) | models.Q(screened_out_at__isnull=True),
                name="enrolment_completed_or_screened_out",
            ),
        ]

    def __str__(self) -> str:
        return f"enrolment {self.pk} in study {self.study_id}"

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "completed"
        if self.screened_out_at is not None:
            return "screened_out"
        return "started"


class StudyParticipantLink(models.Model):
    """The market's ids for one enrolment. Deleting these rows forgets who the participants were."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participant_links")
    enrolment = models.OneToOneField(StudyEnrolment, on_delete=models.CASCADE, related_name="link")
    participant_id = models.CharField(max_length=100)
    market_study_id = models.CharField(max_length=100, blank=True)
    # Prolific's SESSION_ID, MTurk's assignmentId (the latest entry's).
    session_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "participant_id"], name="participant_link_unique"),
        ]

    def __str__(self) -> str:
        return f"participant link {self.pk}"

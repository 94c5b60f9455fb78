"""Live reliability and spammer control: the state between full reliability runs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FlagStatus(models.TextChoices):
    FLAGGED = "flagged", "flagged (still counting)"
    PAUSED = "paused", "paused (cannot claim)"
    EXCLUDED = "excluded", "excluded (votes no longer count)"
    CLEARED = "cleared", "cleared by an admin"


class AnnotatorFlag(models.Model):
    """A spammer test fired on an annotator in a project; the admin review queue's row.

    One row per (project, annotator): the latest verdict. ``answers_at_flag`` is how many
    answers (votes and gold checks) they had given when the test fired.
    """

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="flags")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flags")
    reason = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.FLAGGED)
    answers_at_flag = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "annotator"], name="flag_unique_project_annotator"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator_id} in {self.project_id}: {self.status} ({self.reason})"


class LiveReliability(models.Model):
    """The last live update of a project (one row per project): when it ran, on how much, and
    the warm-start state of the next one (``state``: an ``.npz`` of ids and GLAD parameters)."""

    project = models.OneToOneField("annotation.Project", on_delete=models.CASCADE, related_name="live_reliability")
    computed_at = models.DateTimeField()
    votes = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    annotators_kept = models.PositiveIntegerField(default=0)
    annotators_flagged = models.PositiveIntegerField(default=0)
    images_retired = models.PositiveIntegerField(default=0)
    prior = models.JSONField(default=list, blank=True)
    state = models.BinaryField(blank=True, default=b"")

    def __str__(self) -> str:
        return f"live reliability of {self.project_id} at {self.computed_at:%Y-%m-%d %H:%M}"

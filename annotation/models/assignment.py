from __future__ import annotations

from django.conf import settings
from django.db import models


class AssignmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    VOTED = "voted", "Voted"
    REPORTED = "reported", "Reported"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """A reservation of one image for one annotator, until ``expires_at``."""

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="assignments")
    # No index of its own: assignment_unique_annotator_image and assignment_annotator_idx lead with it.
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    status = models.CharField(max_length=8, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN)
    is_gold = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotator", "image"], name="assignment_unique_annotator_image"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="assignment_open_expiry_idx", condition=models.Q(status="open")),
            models.Index(fields=["annotator", "status"], name="assignment_annotator_idx"),
        ]

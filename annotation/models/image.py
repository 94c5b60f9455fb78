from __future__ import annotations

import random

from django.conf import settings
from django.db import models

# Image.priority of an image no live update has scored (and of every image of a fixed project).
PRIORITY_UNKNOWN = 100


def new_random_key() -> float:
    return random.random()


class ImageStatus(models.TextChoices):
    NEEDS_FACE = "needs_face", "Needs face"
    READY = "ready", "Ready"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected"


def image_upload_to(instance: Image, filename: str) -> str:
    return f"images/{instance.project_id}/{instance.sha256[:2]}/{instance.sha256}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""


class Image(models.Model):
    """One photo of a project.

    ``counted_votes`` and ``reserved`` are kept by the assignment and vote services in the same
    transaction as the rows they count; ``votes_wanted`` is copied from the project so that the
    database itself can refuse an image going over its wanted count.
    """

    # No index of its own: image_unique_sha256_per_project and image_project_status_idx lead with it.
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="images", db_index=False)
    file = models.FileField(upload_to=image_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    source = models.CharField(max_length=1000, blank=True, help_text="Original path or URL.")
    keyword = models.CharField(max_length=200, blank=True, help_text="Search keyword (metadata, not a label).")
    status = models.CharField(max_length=16, choices=ImageStatus.choices, default=ImageStatus.NEEDS_FACE)
    reject_reason = models.CharField(max_length=500, blank=True)
    votes_wanted = models.PositiveIntegerField()
    counted_votes = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0, help_text="Live reservations not yet voted.")
    random_key = models.FloatField(default=new_random_key, help_text="Random tie-break for assignment.")
    # Serving priority among images of equal load, higher first (image_assign_load_idx): in an
    # adaptive project the live update writes 100 x the posterior-predictive entropy of the
    # image's next vote over its largest value (ln K); PRIORITY_UNKNOWN (the most uncertain)
    # until an update has seen the image, and for every image of a fixed project, whose order
    # is then exactly the least-loaded-first, random-tie-break one.
    priority = models.SmallIntegerField(
        default=PRIORITY_UNKNOWN, db_default=PRIORITY_UNKNOWN, help_text="Serving priority (higher first)."
    )
    # counted_votes + reserved, stored so that image_assign_load_idx references this column
    # instead of the two counters: a vote moves one unit from reserved to counted, the load and
    # every indexed column stay the same, and Postgres can update the row in place (HOT, no
    # index entries written; the table keeps free space per page for it, see migration 0005).
    load = models.GeneratedField(
        expression=models.F("counted_votes") + models.F("reserved"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    is_gold = models.BooleanField(default=False)
    gold_label = models.SmallIntegerField(null=True, blank=True)
    reference_label = models.SmallIntegerField(
        null=True, blank=True, help_text="Label from an imported dataset (not a vote)."
    )
    reference_distribution = models.JSONField(
        null=True, blank=True, help_text="Imported 7-d label distribution (RAF-DB distribution file), if any."
    )
    reference_subset = models.CharField(max_length=16, blank=True)
    reference_split = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="image_unique_sha256_per_project"),
            models.CheckConstraint(condition=models.Q(counted_votes__gte=0), name="image_counted_votes_nonneg"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="image_reserved_nonneg"),
            models.CheckConstraint(
                condition=models.Q(counted_votes__lte=models.F("votes_wanted")), name="image_counted_le_wanted"
            ),
            models.CheckConstraint(
                condition=models.Q(is_gold=False) | models.Q(gold_label__isnull=False), name="image_gold_has_label"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=0, priority__lte=PRIORITY_UNKNOWN), name="image_priority_range"
            ),
        ]
        indexes = [
            # The assignment query: ready, non-gold images of a project, least loaded first
            # (counted votes + live reservations), then the highest priority (adaptive projects:
            # the most uncertain), random tie-break. Partial so it only holds images that can be
            # served; the claim walks it from the front and stops early.
            models.Index(
                fields=["project", "load", "-priority", "random_key"],
                name="image_assign_load_idx",
                condition=models.Q(status="ready", is_gold=False),
            ),
            # Gold checks are few; the claim picks one at a random point of this index.
            models.Index(
                fields=["project", "random_key"],
                name="image_gold_idx",
                condition=models.Q(status="ready", is_gold=True),
            ),
            models.Index(fields=["project", "status"], name="image_project_status_idx"),
        ]

    def __str__(self) -> str:
        return f"image {self.pk} ({self.project_id})"


class ImageReport(models.Model):
    """An annotator's "no face / can't see" report, which flags the image instead of a vote."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reports")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    reason = models.CharField(max_length=200, default="no face / can't see")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "annotator"], name="report_unique_per_annotator"),
        ]

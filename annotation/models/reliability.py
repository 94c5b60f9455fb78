from __future__ import annotations

from django.conf import settings
from django.db import models


class ReliabilityRun(models.Model):
    """One run of the reliability estimator over a snapshot of a project's counted votes.

    A run becomes current (``is_current``) in one transaction only when it has succeeded;
    the database allows one current run per project.
    """

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="reliability_runs")
    job = models.OneToOneField("annotation.Job", null=True, on_delete=models.SET_NULL, related_name="reliability_run")
    method = models.CharField(max_length=8, default="hds")
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    succeeded = models.BooleanField(default=False)
    is_current = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The snapshot of votes the run read: every counted vote with ``id <= votes_snapshot_last_id``
    # (taken under a momentary lock, so no vote below it was still uncommitted) and the time it was
    # taken. Exports of the run write exactly these votes. Null for runs made before snapshots
    # were recorded (their exports write every counted vote).
    votes_snapshot_at = models.DateTimeField(null=True, blank=True)
    votes_snapshot_last_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_current=True), name="reliability_one_current_per_project"
            ),
            models.CheckConstraint(
                condition=models.Q(is_current=False) | models.Q(succeeded=True), name="reliability_current_succeeded"
            ),
        ]


class AnnotatorReliability(models.Model):
    run = models.ForeignKey(ReliabilityRun, on_delete=models.CASCADE, related_name="annotators")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reliability = models.FloatField()
    # Share of the annotator's counted votes that match the run's estimated label (0..1): what
    # the pages show, since raw reliabilities (GLAD's alpha, ...) have no meaning on their own.
    accuracy = models.FloatField(null=True)
    kept = models.BooleanField()
    votes = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "annotator reliabilities"
        constraints = [models.UniqueConstraint(fields=["run", "annotator"], name="annotator_reliability_unique")]


class ImageReliability(models.Model):
    """Per-image result: the estimator's posterior and its argmax (the published label), the
    paper's distribution g (which made the subset), raw counts, difficulty, subset and split."""

    run = models.ForeignKey(ReliabilityRun, on_delete=models.CASCADE, related_name="images")
    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="+")
    label = models.SmallIntegerField(help_text="Argmax of posterior (runs before posteriors were stored: of g).")
    posterior = models.JSONField(
        null=True, blank=True, help_text="The estimator's posterior over the true class; null in older runs."
    )
    distribution = models.JSONField(help_text="The paper's g: reliability-weighted votes of the kept annotators.")
    counts = models.JSONField()
    difficulty = models.FloatField(null=True)
    subset = models.CharField(max_length=10, blank=True, help_text="basic, compound or empty.")
    subset_label = models.CharField(max_length=40, blank=True)
    split = models.CharField(max_length=5, blank=True)

    class Meta:
        verbose_name_plural = "image reliabilities"
        constraints = [models.UniqueConstraint(fields=["run", "image"], name="image_reliability_unique")]

from __future__ import annotations

from django.conf import settings
from django.db import models


class TrainingRun(models.Model):
    """A training of DLP-CNN (or a baseline) on a reliability run's subset, on the gpu queue."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="training_runs")
    reliability_run = models.ForeignKey(
        "annotation.ReliabilityRun", on_delete=models.PROTECT, related_name="training_runs"
    )
    subset = models.CharField(max_length=10, default="basic")
    job = models.OneToOneField("annotation.Job", null=True, on_delete=models.SET_NULL, related_name="training_run")
    config = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, blank=True)
    artefacts = models.JSONField(default=dict, blank=True, help_text="Storage names of checkpoint, exports, plots.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

from __future__ import annotations

from django.conf import settings
from django.db import models


class DatasetExport(models.Model):
    """A logged export of a reliability run (and optionally a training run) for researchers."""

    run = models.ForeignKey("annotation.ReliabilityRun", on_delete=models.PROTECT, related_name="exports")
    training_run = models.ForeignKey(
        "annotation.TrainingRun", null=True, blank=True, on_delete=models.PROTECT, related_name="exports"
    )
    job = models.OneToOneField("annotation.Job", null=True, on_delete=models.SET_NULL, related_name="export")
    file = models.FileField(upload_to="exports/", blank=True, max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

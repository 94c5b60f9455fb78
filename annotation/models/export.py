from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportSource(models.TextChoices):
    """Where an exported dataset's labels come from."""

    RUN = "run", "Reliability run"
    REFERENCE = "reference", "Reference labels (imported dataset)"


class ExportKind(models.TextChoices):
    DATASET = "dataset", "Dataset"
    MODEL = "model", "Model"


class ExportFormat(models.TextChoices):
    """How a dataset export is laid out."""

    RAFDB = "rafdb", "RAF-DB release layout"
    HF = "hf", "Hugging Face datasets (Parquet, Croissant)"


class DatasetExport(models.Model):
    """A logged export: a dataset from a reliability run (or the reference labels of an
    imported set), or a training run's model files. Who, when, which run."""

    run = models.ForeignKey(
        "annotation.ReliabilityRun", null=True, blank=True, on_delete=models.PROTECT, related_name="exports"
    )
    training_run = models.ForeignKey(
        "annotation.TrainingRun", null=True, blank=True, on_delete=models.PROTECT, related_name="exports"
    )
    project = models.ForeignKey(
        "annotation.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="exports"
    )
    kind = models.CharField(max_length=8, choices=ExportKind.choices, default=ExportKind.DATASET)
    source = models.CharField(max_length=10, choices=ExportSource.choices, default=ExportSource.RUN)
    job = models.OneToOneField("annotation.Job", null=True, on_delete=models.SET_NULL, related_name="export")
    format = models.CharField(max_length=8, choices=ExportFormat.choices, default=ExportFormat.RAFDB)
    # sha256 of the export's checksums.sha256 (one line per file): equal for two exports of the
    # same content, whatever the archive's timestamps.
    content_hash = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to="exports/", blank=True, max_length=300)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A dataset export from a run names the run; a model export names its training run.
            models.CheckConstraint(
                condition=~models.Q(kind="dataset", source="run", run__isnull=True), name="export_run_has_run"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="model", training_run__isnull=True), name="export_model_has_training_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk}"

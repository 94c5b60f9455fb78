"""Reads of training runs."""

from __future__ import annotations

from django.db.models import QuerySet

from annotation.models import Project, TrainingRun


def training_run_list(*, project: Project) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(project=project).select_related("job").order_by("-created_at")

"""Reads of reliability runs and their results."""

from __future__ import annotations

from django.db.models import QuerySet

from annotation.models import AnnotatorReliability, Project, ReliabilityRun


def reliability_run_list(*, project: Project) -> QuerySet[ReliabilityRun]:
    return ReliabilityRun.objects.filter(project=project).select_related("job").order_by("-created_at", "-pk")


def reliability_run_current(*, project: Project) -> ReliabilityRun | None:
    return ReliabilityRun.objects.filter(project=project, is_current=True).first()


def reliability_run_annotators(*, run: ReliabilityRun) -> QuerySet[AnnotatorReliability]:
    """Per-annotator results, most reliable first, with the pseudonym for display."""
    return (
        AnnotatorReliability.objects.filter(run=run)
        .select_related("annotator__annotator")
        .order_by("-kept", "-reliability", "annotator_id")
    )

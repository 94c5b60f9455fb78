"""API views for training runs (one view per operation). Researchers and admins start, list,
inspect, cancel and download; admins choose the project's current model."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.errors import ServiceError
from annotation.models import Job, Project, ReliabilityRun, TrainingRun
from annotation.permissions import IsAdmin, IsResearcher
from annotation.selectors.training import training_run_list
from annotation.services.training import training_run_cancel, training_run_set_current, training_run_start
from config.path_converters import MAX_ID


def job_data(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    fields = ("id", "kind", "status", "progress", "message", "result", "error", "created_at", "started_at")
    return {**{name: getattr(job, name) for name in fields}, "finished_at": job.finished_at}


def run_data(run: TrainingRun) -> dict[str, Any]:
    current = Project.objects.filter(pk=run.project_id, current_model=run).exists()
    return {
        "id": run.pk,
        "project": run.project_id,
        "reliability_run": run.reliability_run_id,
        "subset": run.subset,
        "config": run.config,
        "metrics": run.metrics,
        "artefacts": sorted(key for key in run.artefacts if key != "checkpoint"),
        "job": job_data(run.job),
        "is_current": current,
        "created_at": run.created_at,
    }


class TrainingRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    reliability_run = serializers.IntegerField()
    subset = serializers.CharField()
    config = serializers.JSONField()
    metrics = serializers.JSONField()
    artefacts = serializers.ListField(child=serializers.CharField())
    job = serializers.JSONField(allow_null=True)
    is_current = serializers.BooleanField()
    created_at = serializers.DateTimeField()


def _output(run: TrainingRun, code: int = status.HTTP_200_OK) -> Response:
    return Response(TrainingRunOutputSerializer(run_data(run)).data, status=code)


class TrainingRunStartApi(APIView):
    """``POST /api/v1/projects/<project_id>/training-runs`` body
    ``{"reliability_run": id|null, "subset": "basic"|"compound", "config": {field: value}}``."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        reliability_run = serializers.IntegerField(required=False, allow_null=True)
        subset = serializers.ChoiceField(choices=["basic", "compound"], default="basic")
        config = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: TrainingRunOutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reliability_run = None
        if data.validated_data.get("reliability_run") is not None:
            reliability_run = get_object_or_404(
                ReliabilityRun, pk=data.validated_data["reliability_run"], project=project
            )
        run = training_run_start(
            project=project,
            reliability_run=reliability_run,
            subset=data.validated_data["subset"],
            config=data.validated_data["config"],
            created_by=request.user,
        )
        return _output(run, status.HTTP_201_CREATED)


class TrainingRunListApi(APIView):
    """``GET /api/v1/training-runs?project=<id>``: newest first."""

    permission_classes = [IsResearcher]

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(min_value=0, max_value=MAX_ID)

    class OutputSerializer(serializers.Serializer):
        results = TrainingRunOutputSerializer(many=True)

    @extend_schema(operation_id="training_runs_list", parameters=[FilterSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        project = get_object_or_404(Project, pk=filters.validated_data["project"])
        runs = [run_data(run) for run in training_run_list(project=project)]
        return Response({"results": TrainingRunOutputSerializer(runs, many=True).data})


class TrainingRunDetailApi(APIView):
    """``GET /api/v1/training-runs/<id>``."""

    permission_classes = [IsResearcher]

    @extend_schema(operation_id="training_runs_retrieve", responses=TrainingRunOutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        return _output(get_object_or_404(TrainingRun.objects.select_related("job"), pk=run_id))


class TrainingRunCancelApi(APIView):
    """``POST /api/v1/training-runs/<id>/cancel``."""

    permission_classes = [IsResearcher]

    @extend_schema(request=None, responses=TrainingRunOutputSerializer)
    def post(self, request: Request, run_id: int) -> Response:
        run = get_object_or_404(TrainingRun.objects.select_related("job"), pk=run_id)
        training_run_cancel(run=run)
        run.refresh_from_db()
        return _output(run)


class TrainingRunMakeCurrentApi(APIView):
    """``POST /api/v1/training-runs/<id>/make-current``: the project's model for predict (admins)."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=TrainingRunOutputSerializer)
    def post(self, request: Request, run_id: int) -> Response:
        run = get_object_or_404(TrainingRun.objects.select_related("job"), pk=run_id)
        training_run_set_current(run=run)
        return _output(run)


class TrainingRunArtefactApi(APIView):
    """``GET /api/v1/training-runs/<id>/artefacts/<key>``: download a model, export, log or plot."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, run_id: int, key: str) -> FileResponse:
        run = get_object_or_404(TrainingRun, pk=run_id)
        name = run.artefacts.get(key)
        if not name or key == "checkpoint" or not default_storage.exists(name):
            raise ServiceError(f"The run has no artefact {key!r}.", code="not_found", status_code=404)
        filename = PurePosixPath(name).name
        return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename=filename)


urlpatterns: list[URLPattern] = [
    path("projects/<id:project_id>/training-runs", TrainingRunStartApi.as_view(), name="training-run-start"),
    path("training-runs", TrainingRunListApi.as_view(), name="training-run-list"),
    path("training-runs/<id:run_id>", TrainingRunDetailApi.as_view(), name="training-run-detail"),
    path("training-runs/<id:run_id>/cancel", TrainingRunCancelApi.as_view(), name="training-run-cancel"),
    path(
        "training-runs/<id:run_id>/make-current", TrainingRunMakeCurrentApi.as_view(), name="training-run-make-current"
    ),
    path(
        "training-runs/<id:run_id>/artefacts/<str:key>", TrainingRunArtefactApi.as_view(), name="training-run-artefact"
    ),
]

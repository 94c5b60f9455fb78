"""API views for exports (one view per operation).

- ``POST /api/v1/projects/<project_id>/exports`` body ``{"run": id|null, "reference": bool,
  "format": "rafdb"|"hf", "changes_from": id|null}`` -> ``202 {"export": Export}`` (the job writes
  the zip in the background)
- ``GET /api/v1/exports/<id>`` -> ``Export`` with an expiring ``download_url`` once ready
- ``GET /api/v1/exports/download/<token>`` -> the zip (the signed token is the credential)
- ``GET /api/v1/training-runs/<id>/model.zip`` -> model files, model card and plots
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import DatasetExport, JobStatus, Project, ReliabilityRun, TrainingRun
from annotation.models.export import ExportFormat
from annotation.permissions import IsResearcher
from annotation.services.exports import (
    dataset_export_start,
    export_download_link,
    export_from_token,
    export_job_summary,
    training_run_model_zip,
)


def _export_data(export: DatasetExport) -> dict[str, Any]:
    link = (
        export_download_link(export=export) if export.job is None or export.job.status == JobStatus.SUCCEEDED else None
    )
    return {
        "id": export.pk,
        "project": export.project_id,
        "run": export.run_id,
        "source": export.source,
        "kind": export.kind,
        "format": export.format,
        "content_hash": export.content_hash or None,
        "created_by": export.created_by_id,
        "created_at": export.created_at,
        "size_bytes": export.size_bytes,
        "job": export_job_summary(export.job),
        "download_url": link.url if link else None,
        "expires_at": link.expires_at if link else None,
    }


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(allow_null=True)
    run = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()
    kind = serializers.CharField()
    format = serializers.CharField()
    content_hash = serializers.CharField(allow_null=True)
    created_by = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    size_bytes = serializers.IntegerField(allow_null=True)
    job = serializers.DictField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class ExportStartApi(APIView):
    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        run = serializers.IntegerField(required=False, allow_null=True)
        reference = serializers.BooleanField(required=False, default=False)
        format = serializers.ChoiceField(choices=ExportFormat.choices, required=False, default=ExportFormat.RAFDB)
        changes_from = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses={202: inline_serializer("ExportStarted", {"export": ExportOutputSerializer()})},
        summary="Start a dataset export (researchers and admins)",
    )
    def post(self, request: Request, project_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = get_object_or_404(Project, pk=project_id)
        run_id = data.validated_data.get("run")
        run = get_object_or_404(ReliabilityRun, pk=run_id, project=project) if run_id else None
        base_id = data.validated_data.get("changes_from")
        base = get_object_or_404(ReliabilityRun, pk=base_id, project=project) if base_id else None
        export = dataset_export_start(
            project=project,
            created_by=request.user,
            run=run,
            reference=data.validated_data["reference"],
            format=data.validated_data["format"],
            changes_from=base,
        )
        export.refresh_from_db()
        return Response({"export": ExportOutputSerializer(_export_data(export)).data}, status=status.HTTP_202_ACCEPTED)


class ExportDetailApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(responses={200: ExportOutputSerializer}, summary="An export, with an expiring download link")
    def get(self, request: Request, export_id: int) -> Response:
        export = get_object_or_404(DatasetExport.objects.select_related("job"), pk=export_id)
        return Response(ExportOutputSerializer(_export_data(export)).data)


class ExportDownloadApi(APIView):
    # The signed, expiring token is the credential, so that `curl`/`wget` can fetch the link.
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="The export's zip")},
        summary="Download an export through its signed, expiring link",
    )
    def get(self, request: Request, token: str) -> FileResponse:
        export = export_from_token(token=token)
        handle = export.file.open("rb")
        return FileResponse(
            handle, as_attachment=True, filename=export.file.name.rsplit("/", 1)[-1], content_type="application/zip"
        )


class TrainingRunModelDownloadApi(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="Model files, model card and plots")},
        summary="Download a training run's model as one zip",
    )
    def get(self, request: Request, training_run_id: int) -> FileResponse:
        training_run = get_object_or_404(TrainingRun, pk=training_run_id)
        # Spooled: small model zips stay in memory, large ones go to disk, never whole in RAM.
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        training_run_model_zip(training_run=training_run, created_by=request.user, out=spool)
        spool.seek(0)
        return FileResponse(
            spool, as_attachment=True, filename=f"raf-model-{training_run.pk}.zip", content_type="application/zip"
        )


urlpatterns: list[URLPattern] = [
    path("projects/<id:project_id>/exports", ExportStartApi.as_view(), name="export-start"),
    path("exports/<id:export_id>", ExportDetailApi.as_view(), name="export-detail"),
    path("exports/download/<str:token>", ExportDownloadApi.as_view(), name="export-download"),
    path(
        "training-runs/<id:training_run_id>/model.zip",
        TrainingRunModelDownloadApi.as_view(),
        name="training-run-model-download",
    ),
]

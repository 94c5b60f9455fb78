"""API views for reliability runs (one view per operation).

- ``POST /api/v1/projects/<project_id>/reliability-runs`` (admins): start a run; 201 with the
  new run, or 200 with the run already queued or running.
- ``GET /api/v1/projects/<project_id>/reliability-runs`` (researchers, admins): the runs.
- ``GET /api/v1/reliability-runs/<run_id>`` (researchers, admins): one run with its
  per-annotator results.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Job, Project, ReliabilityRun
from annotation.permissions import IsAdmin, IsResearcher
from annotation.selectors.reliability import reliability_run_annotators, reliability_run_list
from annotation.services.reliability import reliability_run_start
from reliability.pipeline import DEFAULT_METHOD, METHODS


class RunOutputSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    job = serializers.IntegerField(source="job_id", allow_null=True)

    class Meta:
        model = ReliabilityRun
        fields = [
            "id",
            "project",
            "job",
            "method",
            "params",
            "status",
            "progress",
            "error",
            "metrics",
            "succeeded",
            "is_current",
            "created_at",
        ]

    def get_status(self, run: ReliabilityRun) -> str:
        job: Job | None = run.job
        if run.succeeded:
            return "succeeded"
        return job.status if job is not None else "failed"

    def get_progress(self, run: ReliabilityRun) -> float:
        return 1.0 if run.succeeded else (run.job.progress if run.job is not None else 0.0)

    def get_error(self, run: ReliabilityRun) -> str:
        return run.job.message if run.job is not None and run.job.status == "failed" else ""


class ReliabilityRunsApi(APIView):
    """``/projects/<id>/reliability-runs``: GET lists (researchers), POST starts (admins).

    Two operations share the URL, so the class only routes each method to its own permission.
    """

    def get_permissions(self) -> list[object]:
        return [IsAdmin()] if self.request.method == "POST" else [IsResearcher()]

    class InputSerializer(serializers.Serializer):
        method = serializers.ChoiceField(choices=METHODS, default=DEFAULT_METHOD)
        params = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: RunOutputSerializer, 200: RunOutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        before = set(ReliabilityRun.objects.filter(project=project).values_list("pk", flat=True))
        run = reliability_run_start(project=project, created_by=request.user, **data.validated_data)
        code = status.HTTP_200_OK if run.pk in before else status.HTTP_201_CREATED
        return Response(RunOutputSerializer(run).data, status=code)

    @extend_schema(responses=RunOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        runs = reliability_run_list(project=project)[:100]
        return Response({"results": RunOutputSerializer(runs, many=True).data})


class ReliabilityRunDetailApi(APIView):
    permission_classes = [IsResearcher]

    class AnnotatorSerializer(serializers.Serializer):
        annotator = serializers.IntegerField(source="annotator_id")
        pseudonym = serializers.SerializerMethodField()
        reliability = serializers.FloatField()
        kept = serializers.BooleanField()
        votes = serializers.IntegerField()

        def get_pseudonym(self, row: object) -> str | None:
            profile = getattr(row.annotator, "annotator", None)  # type: ignore[attr-defined]
            return str(profile.pseudonym) if profile is not None else None

    class OutputSerializer(RunOutputSerializer):
        annotators = serializers.SerializerMethodField()

        class Meta(RunOutputSerializer.Meta):
            fields = [*RunOutputSerializer.Meta.fields, "annotators"]

        @extend_schema_field(serializers.ListField(child=serializers.DictField()))
        def get_annotators(self, run: ReliabilityRun) -> list[dict[str, object]]:
            rows = reliability_run_annotators(run=run)
            return ReliabilityRunDetailApi.AnnotatorSerializer(rows, many=True).data  # type: ignore[return-value]

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, run_id: int) -> Response:
        run = get_object_or_404(ReliabilityRun.objects.select_related("job"), pk=run_id)
        return Response(self.OutputSerializer(run).data)


urlpatterns: list[URLPattern] = [
    path("projects/<id:project_id>/reliability-runs", ReliabilityRunsApi.as_view(), name="reliability-runs"),
    path("reliability-runs/<id:run_id>", ReliabilityRunDetailApi.as_view(), name="reliability-run-detail"),
]

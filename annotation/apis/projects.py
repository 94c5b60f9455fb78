"""API views for projects: list/detail for every role, create/update for admins, and the
annotator's claim and progress (one view per operation)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.assignments import (
    AssignmentOutputSerializer,
    ProgressOutputSerializer,
    assignment_data,
)
from annotation.apis.fields import BoundedCharField, FlatInputSerializer
from annotation.models import Project
from annotation.permissions import IsAdmin, IsAnnotator, IsMember
from annotation.services.assignment import MAX_CLAIM_COUNT, assignment_claim_next
from annotation.services.progress import annotator_progress
from annotation.services.projects import project_save
from annotation.throttling import ClaimRateLimit

PROJECT_FIELDS = [
    "id", "name", "description", "classes", "votes_wanted", "reservation_timeout_s", "gold_rate",
    "probation_answers", "probation_gold_rate", "allocation", "min_votes", "stop_confidence", "spammer_action",
    "subset_min_votes", "min_vote_ms", "created_at",
]  # fmt: skip


class ProjectOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = PROJECT_FIELDS


class ProjectInputSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: BoundedCharField,
    }
    votes_wanted = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    classes = serializers.ListField(
        child=BoundedCharField(max_length=40, validators=[RegexValidator(r"\S")]),
        min_length=2,
        max_length=50,
        required=False,
    )
    gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    probation_gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    min_votes = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    stop_confidence = serializers.FloatField(min_value=0.5, max_value=0.999, required=False)

    class Meta:
        model = Project
        fields = [f for f in PROJECT_FIELDS if f not in ("id", "created_at")] + ["tutorial_text", "licence_text"]

    def validate_gold_rate(self, value: float) -> float:
        if not 0 <= value <= 1:
            raise serializers.ValidationError("gold_rate must be between 0 and 1.")
        return value

    def validate_votes_wanted(self, value: int) -> int:
        if value < 1:
            raise serializers.ValidationError("votes_wanted must be at least 1.")
        return value


class ProjectListCreateApi(APIView):
    """``GET``: every project (any role). ``POST``: create one (admins)."""

    def get_permissions(self) -> list:
        return [IsAdmin()] if self.request.method == "POST" else [IsMember()]

    @extend_schema(responses={200: ProjectOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ProjectOutputSerializer(Project.objects.order_by("id"), many=True).data)

    @extend_schema(request=ProjectInputSerializer, responses={201: ProjectOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProjectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_save(project=None, fields=dict(serializer.validated_data))
        return Response(ProjectOutputSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailUpdateApi(APIView):
    """``GET``: one project (any role). ``PATCH``: change its settings (admins)."""

    def get_permissions(self) -> list:
        return [IsAdmin()] if self.request.method == "PATCH" else [IsMember()]

    @extend_schema(responses={200: ProjectOutputSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        return Response(ProjectOutputSerializer(get_object_or_404(Project, pk=project_id)).data)

    @extend_schema(request=ProjectInputSerializer, responses={200: ProjectOutputSerializer})
    def patch(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        serializer = ProjectInputSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        project = project_save(project=project, fields=dict(serializer.validated_data))
        return Response(ProjectOutputSerializer(project).data)


class ProjectClaimApi(APIView):
    """Reserve the next image(s) to annotate; your live reservations come back first."""

    permission_classes = [IsAnnotator]
    throttle_classes = [ClaimRateLimit]

    class InputSerializer(FlatInputSerializer):
        count = serializers.IntegerField(min_value=1, max_value=MAX_CLAIM_COUNT, required=False, default=1)

    class OutputSerializer(serializers.Serializer):
        assignments = AssignmentOutputSerializer(many=True)
        finished = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = get_object_or_404(Project, pk=project_id)
        assignments = assignment_claim_next(
            annotator=request.user, project=project, count=data.validated_data["count"], resume=True
        )
        body = {"assignments": [assignment_data(a) for a in assignments], "finished": not assignments}
        return Response(body)


class ProjectProgressApi(APIView):
    """Your votes today and in total, and how many images still need votes."""

    permission_classes = [IsAnnotator]

    @extend_schema(responses={200: ProgressOutputSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        progress = annotator_progress(annotator=request.user, project=project)
        return Response(ProgressOutputSerializer(progress).data)


urlpatterns: list[URLPattern] = [
    path("projects", ProjectListCreateApi.as_view(), name="project-list"),
    path("projects/<id:project_id>", ProjectDetailUpdateApi.as_view(), name="project-detail"),
    path("projects/<id:project_id>/claim", ProjectClaimApi.as_view(), name="project-claim"),
    path("projects/<id:project_id>/progress", ProjectProgressApi.as_view(), name="project-progress"),
]

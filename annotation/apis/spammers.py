"""API views for live reliability and the spammer review queue (admins; one view per operation).

- ``GET /api/v1/projects/<project_id>/live-reliability``: the last live update (when it was
  computed, on how many votes, flags, retired images), or 404 before the first.
- ``GET /api/v1/projects/<project_id>/flags[?status=flagged|paused|excluded|cleared]``: the
  review queue, newest first.
- ``POST /api/v1/flags/<flag_id>/review`` with ``{"action": "pause"|"resume"|"clear"|"exclude"}``:
  an admin's decision; ``exclude`` makes the annotator's votes stop counting and returns their
  images to the pool, in one transaction with the counters.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import AnnotatorFlag, FlagStatus, LiveReliability, Project
from annotation.permissions import IsAdmin
from annotation.services.spammers import flag_review


class FlagOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnnotatorFlag
        fields = [
            "id",
            "project",
            "annotator",
            "reason",
            "status",
            "answers_at_flag",
            "evidence",
            "created_at",
            "reviewed_at",
            "reviewed_by",
        ]


class LiveOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LiveReliability
        fields = [
            "project",
            "computed_at",
            "votes",
            "seconds",
            "annotators_kept",
            "annotators_flagged",
            "images_retired",
            "prior",
        ]


class LiveReliabilityApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=LiveOutputSerializer)
    def get(self, request: Request, project_id: int) -> Response:
        live = get_object_or_404(LiveReliability, project_id=project_id)
        return Response(LiveOutputSerializer(live).data)


class FlagListApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=FlagOutputSerializer(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        flags = AnnotatorFlag.objects.filter(project=project).order_by("-created_at", "-id")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in FlagStatus.values:
                return Response(
                    {
                        "error": {
                            "code": "invalid_status",
                            "message": "Unknown flag status.",
                            "details": FlagStatus.values,
                        }
                    },
                    status=400,
                )
            flags = flags.filter(status=wanted)
        return Response(FlagOutputSerializer(flags, many=True).data)


class FlagReviewApi(APIView):
    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["pause", "resume", "clear", "exclude"])

    @extend_schema(request=InputSerializer, responses=FlagOutputSerializer)
    def post(self, request: Request, flag_id: int) -> Response:
        flag = get_object_or_404(AnnotatorFlag.objects.select_related("project"), pk=flag_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = flag_review(flag=flag, action=data.validated_data["action"], by=request.user)
        return Response(FlagOutputSerializer(flag).data)


urlpatterns: list[URLPattern] = [
    path("projects/<id:project_id>/live-reliability", LiveReliabilityApi.as_view(), name="live-reliability"),
    path("projects/<id:project_id>/flags", FlagListApi.as_view(), name="flag-list"),
    path("flags/<id:flag_id>/review", FlagReviewApi.as_view(), name="flag-review"),
]

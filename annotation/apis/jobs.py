"""API views for jobs: every background task as users see it (one view per operation).

Annotators see only the jobs they started; researchers and admins see all; admins cancel.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.pagination import Pagination
from annotation.models import Job, JobStatus
from annotation.permissions import ADMIN, RESEARCHER, IsAdmin, IsMember, has_role
from annotation.services.jobs import job_cancel


class JobOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id", "kind", "project", "status", "progress", "message", "result", "error",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip


def _visible_jobs(request: Request) -> QuerySet[Job]:
    jobs = Job.objects.order_by("-created_at", "-id")
    return jobs if has_role(request.user, RESEARCHER, ADMIN) else jobs.filter(created_by=request.user)


class JobListApi(APIView):
    """Jobs, newest first (``?project=``, ``?kind=``, ``?status=``)."""

    permission_classes = [IsMember]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(required=False)
        kind = serializers.CharField(required=False)
        status = serializers.ChoiceField(choices=JobStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: JobOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        jobs = _visible_jobs(request)
        for name in ("project", "kind", "status"):
            if name in filters.validated_data:
                jobs = jobs.filter(**{name: filters.validated_data[name]})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)


class JobDetailApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses={200: JobOutputSerializer})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(JobOutputSerializer(get_object_or_404(_visible_jobs(request), pk=job_id)).data)


class JobCancelApi(APIView):
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next report."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses={200: JobOutputSerializer})
    def post(self, request: Request, job_id: int) -> Response:
        job = job_cancel(job=get_object_or_404(Job, pk=job_id))
        return Response(JobOutputSerializer(job).data)


urlpatterns: list[URLPattern] = [
    path("jobs", JobListApi.as_view(), name="job-list"),
    path("jobs/<id:job_id>", JobDetailApi.as_view(), name="job-detail"),
    path("jobs/<id:job_id>/cancel", JobCancelApi.as_view(), name="job-cancel"),
]

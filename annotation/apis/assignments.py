"""API views for assignments and votes (one view per operation).

Annotators only ever see their own assignments and votes; researchers and admins may list
every vote of a project.
"""

from __future__ import annotations

import functools
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, get_script_prefix, path, reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.fields import BoundedCharField, FlatInputSerializer
from annotation.apis.pagination import Pagination
from annotation.models import Assignment, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.permissions import IsAnnotator, IsMember
from annotation.selectors.votes import vote_counted_as_seen, vote_details_visible, vote_list_visible
from annotation.services.assignment import MAX_CLAIM_COUNT
from annotation.services.progress import Progress, annotator_progress
from annotation.services.vote_undo import vote_undo
from annotation.services.votes import image_report_create, next_and_progress, vote_submit
from annotation.throttling import VoteRateLimit


class AssignmentOutputSerializer(serializers.Serializer):
    """``{"id", "image": {"id", "url", "width", "height"}, "expires_at"}``; gold is not revealed."""

    id = serializers.IntegerField()
    image = inline_serializer(
        "AssignedImage",
        fields={
            "id": serializers.IntegerField(),
            "url": serializers.CharField(),
            "width": serializers.IntegerField(),
            "height": serializers.IntegerField(),
        },
    )
    expires_at = serializers.DateTimeField()


class ProgressOutputSerializer(serializers.Serializer):
    today = serializers.IntegerField()
    total = serializers.IntegerField()
    remaining = serializers.IntegerField()
    finished = serializers.BooleanField()


# The hot endpoints (claim, vote, report) build their answers as plain dicts in exactly the
# shape of their OutputSerializer, which documents them in the schema: instantiating DRF
# serializers on every vote costs more than the rest of the view.
_DISPLAY_URL_MARK = 918273645


@functools.lru_cache(maxsize=8)
def _display_url_parts(script_prefix: str) -> tuple[str, str]:
    # reverse() once per script prefix; every answer carries one or two image URLs.
    url = reverse("api:image-display", args=[_DISPLAY_URL_MARK])
    head, _, tail = url.partition(str(_DISPLAY_URL_MARK))
    return head, tail


def image_display_url(image_id: int) -> str:
    head, tail = _display_url_parts(get_script_prefix())
    return f"{head}{image_id}{tail}"


def assignment_data(assignment: Assignment) -> dict[str, Any]:
    image = assignment.image
    return {
        "id": assignment.pk,
        "image": {
            "id": image.pk,
            "url": image_display_url(image.pk),
            "width": image.width,
            "height": image.height,
        },
        "expires_at": assignment.expires_at,
    }


def progress_data(progress: Progress, *, out_of_work: bool = False) -> dict[str, Any]:
    return {
        "today": progress.today,
        "total": progress.total,
        "remaining": progress.remaining,
        "finished": progress.finished or out_of_work,
    }


def _own_assignment(request: Request, assignment_id: int) -> Assignment:
    # Someone else's assignment is "not found", so ids reveal nothing.
    return get_object_or_404(
        Assignment.objects.select_related("image__project"), pk=assignment_id, annotator=request.user
    )


def _vote_data(vote: Vote) -> dict[str, Any]:
    # A gold check answers like any other vote: gold images are never revealed.
    counted = vote_counted_as_seen(vote=vote, details=False)
    return {"id": vote.pk, "label": vote.label, "counted": counted, "late": vote.late}


class AssignmentVoteApi(APIView):
    """Vote on your own assignment; the next assignment(s) come back in the same response."""

    permission_classes = [IsAnnotator]
    throttle_classes = [VoteRateLimit]
    # JSON only (the pages and scripts send and accept JSON): content negotiation is cheap.
    renderer_classes = [JSONRenderer]

    class InputSerializer(FlatInputSerializer):
        # The label's domain as stored (smallint); whether it is one of the project's classes is
        # checked once, by the database (migration 0007), and refused as invalid_label.
        label = serializers.IntegerField(min_value=0, max_value=2**15 - 1)
        time_taken_ms = serializers.IntegerField(
            min_value=0, max_value=2**31 - 1, required=False, allow_null=True, default=None
        )
        next = serializers.IntegerField(min_value=0, max_value=MAX_CLAIM_COUNT, required=False, default=1)

    class OutputSerializer(serializers.Serializer):
        vote = inline_serializer(
            "VoteAck",
            fields={
                "id": serializers.IntegerField(),
                "label": serializers.IntegerField(),
                "counted": serializers.BooleanField(),
                "late": serializers.BooleanField(),
            },
        )
        notice = serializers.CharField(allow_null=True)
        next = AssignmentOutputSerializer(many=True)
        progress = ProgressOutputSerializer()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submitted = vote_submit(
            annotator=request.user,
            assignment_id=assignment_id,
            label=data.validated_data["label"],
            time_taken_ms=data.validated_data["time_taken_ms"],
            n_next=data.validated_data["next"],
        )
        body = {
            "vote": _vote_data(submitted.outcome.vote),
            "notice": submitted.outcome.notice,
            "next": [assignment_data(a) for a in submitted.following],
            "progress": progress_data(submitted.progress, out_of_work=submitted.out_of_work),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AssignmentReportApi(APIView):
    """Report the image of your assignment ("no face / can't see") instead of voting."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        reason = BoundedCharField(max_length=200, required=False, allow_blank=True, default="")
        next = serializers.IntegerField(min_value=0, max_value=MAX_CLAIM_COUNT, required=False, default=1)

    class OutputSerializer(serializers.Serializer):
        next = AssignmentOutputSerializer(many=True)
        progress = ProgressOutputSerializer()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _own_assignment(request, assignment_id)
        image_report_create(annotator=request.user, assignment=assignment, reason=data.validated_data["reason"])
        n_next = data.validated_data["next"]
        following, progress = next_and_progress(annotator=request.user, project=assignment.image.project, n_next=n_next)
        body = {
            "next": [assignment_data(a) for a in following],
            "progress": progress_data(progress, out_of_work=bool(n_next and not following)),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VoteUndoApi(APIView):
    """Take back your last answer while its reservation is open; the face comes back to you.

    The undone vote is kept on record; answer again with the assignment's ``vote`` endpoint."""

    permission_classes = [IsAnnotator]

    class OutputSerializer(serializers.Serializer):
        assignment = AssignmentOutputSerializer()
        progress = ProgressOutputSerializer()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request: Request, vote_id: int) -> Response:
        assignment = vote_undo(annotator=request.user, vote_id=vote_id)
        progress = annotator_progress(annotator=request.user, project=assignment.image.project)
        return Response({"assignment": assignment_data(assignment), "progress": progress_data(progress)})


class AssignmentListApi(APIView):
    """Your own assignments, newest first (``?project=``, ``?status=``)."""

    permission_classes = [IsAnnotator]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(required=False)
        status = serializers.ChoiceField(choices=AssignmentStatus.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        project = serializers.IntegerField(source="image.project_id")
        image = serializers.IntegerField(source="image_id")
        status = serializers.CharField()
        created_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = Assignment.objects.filter(annotator=request.user).select_related("image").order_by("-id")
        if "project" in filters.validated_data:
            queryset = queryset.filter(image__project_id=filters.validated_data["project"])
        if "status" in filters.validated_data:
            queryset = queryset.filter(status=filters.validated_data["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class VoteListApi(APIView):
    """Votes, newest first: annotators get their own, researchers and admins every vote
    (``?project=``, ``?annotator=``)."""

    permission_classes = [IsMember]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(required=False)
        annotator = serializers.IntegerField(required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        project = serializers.IntegerField(source="image.project_id")
        image = serializers.IntegerField(source="image_id")
        annotator = serializers.IntegerField(source="annotator_id")
        label = serializers.IntegerField()
        time_taken_ms = serializers.IntegerField(allow_null=True)
        counted = serializers.BooleanField()
        late = serializers.BooleanField()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = vote_list_visible(
            user=request.user,
            project_id=filters.validated_data.get("project"),
            annotator_id=filters.validated_data.get("annotator"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = self.OutputSerializer(page, many=True).data
        details = vote_details_visible(user=request.user)
        for row, vote in zip(data, page, strict=True):
            row["counted"] = vote_counted_as_seen(vote=vote, details=details)
        return paginator.get_paginated_response(data)


urlpatterns: list[URLPattern] = [
    path("assignments", AssignmentListApi.as_view(), name="assignment-list"),
    path("assignments/<id:assignment_id>/vote", AssignmentVoteApi.as_view(), name="assignment-vote"),
    path("assignments/<id:assignment_id>/report", AssignmentReportApi.as_view(), name="assignment-report"),
    path("votes", VoteListApi.as_view(), name="vote-list"),
    path("votes/<id:vote_id>/undo", VoteUndoApi.as_view(), name="vote-undo"),
]

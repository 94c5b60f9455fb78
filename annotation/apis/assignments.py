"""API views for assignments and votes (one view per operation).

Annotators only ever see their own assignments and votes; researchers and admins may list
every vote of a project.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, get_script_prefix, path, reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.errors import ServiceError
from annotation.models import Assignment, Project, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.permissions import ADMIN, RESEARCHER, IsAnnotator, IsMember, has_role
from annotation.selectors.progress import Progress, annotator_progress, project_remaining
from annotation.selectors.projects import project_get_cached
from annotation.services.assignment import (
    MAX_CLAIM_COUNT,
    assignment_claim_draws,
    assignment_claim_next,
    assignments_from_rows,
)
from annotation.services.votes import (
    image_report_create,
    vote_create,
    vote_create_and_claim_on_open_reservation,
    vote_create_on_open_reservation,
)


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


def _next_and_progress(request: Request, project: Project, n_next: int) -> dict[str, Any]:
    try:
        following = assignment_claim_next(annotator=request.user, project=project, count=n_next) if n_next else []
    except ServiceError:
        # The vote or report is already committed: answer it, with no next image (a claim
        # on its own then says why, e.g. not_qualified).
        following = []
    progress = annotator_progress(annotator=request.user, project=project)
    return {
        "next": [assignment_data(a) for a in following],
        "progress": progress_data(progress, out_of_work=bool(n_next and not following)),
    }


def _vote_data(vote: Vote) -> dict[str, Any]:
    # A gold check answers like any other vote: gold images are never revealed.
    return {"id": vote.pk, "label": vote.label, "counted": vote.counted or vote.is_gold, "late": vote.late}


# The project each annotator last claimed or voted in, per process. A keep-alive connection
# stays with one process, so the next vote is nearly always in the same project: its claim can
# then go into the vote's own statement, which checks the guess (a wrong one only costs the merge).
_last_project: dict[int, int] = {}


# Set in the WSGI environ by annotation.apis.vote_fast_path when it ran
# vote_answer_in_one_statement for this request and the statement wrote nothing (the request
# then comes to the view, which goes straight to the other paths).
STATEMENT_TRIED = "raf.vote_statement_tried"


def remember_project(user_id: int, project_id: int) -> None:
    """The project of ``user_id``'s next vote in this process is probably ``project_id``."""
    _last_project[user_id] = project_id


def vote_answer_in_one_statement(
    request: Request, assignment_id: int, label: int, time_taken_ms: int | None, n_next: int
) -> dict[str, Any] | None:
    """The vote answer built from one statement (vote + next claim + progress counts), or
    ``None`` when that does not apply (nothing written then)."""
    project_id = _last_project.get(request.user.pk)
    if project_id is None or connection.vendor != "postgresql":
        return None
    try:
        project = project_get_cached(project_id=project_id)
    except Project.DoesNotExist:
        _last_project.pop(request.user.pk, None)
        return None
    draws: list[bool] = []  # one per slot to claim (True: gold); none when not qualified
    if n_next:
        try:
            draws = assignment_claim_draws(annotator=request.user, project=project, count=n_next)
        except ServiceError:
            pass  # no next image (a claim on its own says why)
    now = timezone.now()
    merged = vote_create_and_claim_on_open_reservation(
        annotator=request.user,
        assignment_id=assignment_id,
        label=label,
        time_taken_ms=time_taken_ms,
        project=project,
        draws=draws,
        now=now,
        midnight=timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0),
    )
    if merged is None:
        return None
    if merged.claimed is not None:
        following = assignments_from_rows(merged.claimed, annotator=request.user, project=project, now=now)
    else:
        # The vote was in another project than the one guessed: claim there on its own.
        project = project_get_cached(project_id=merged.project_id)
        remember_project(request.user.pk, project.pk)
        try:
            following = assignment_claim_next(annotator=request.user, project=project, count=n_next) if n_next else []
        except ServiceError:
            following = []
    if merged.today is not None and merged.total is not None:
        remaining = project_remaining(project=project)
        progress = Progress(today=merged.today, total=merged.total, remaining=remaining, finished=remaining == 0)
    else:  # the first vote of the day (or no counters): the selector starts the day
        progress = annotator_progress(annotator=request.user, project=project)
    return {
        "vote": _vote_data(merged.outcome.vote),
        "notice": None,
        "next": [assignment_data(a) for a in following],
        "progress": progress_data(progress, out_of_work=bool(n_next and not following)),
    }


def plain_vote_input(data: Any) -> tuple[int, int | None, int] | None:
    """``(label, time_taken_ms, next)`` of a body the InputSerializer would accept as is (plain
    JSON integers in range); ``None`` for anything else, which the serializer then handles."""
    if not isinstance(data, dict):
        return None
    label, time_taken_ms, n_next = data.get("label"), data.get("time_taken_ms"), data.get("next", 1)
    if type(label) is not int or label < 0 or type(n_next) is not int or not 0 <= n_next <= MAX_CLAIM_COUNT:
        return None
    if time_taken_ms is not None and (type(time_taken_ms) is not int or time_taken_ms < 0):
        return None
    return label, time_taken_ms, n_next


class AssignmentVoteApi(APIView):
    """Vote on your own assignment; the next assignment(s) come back in the same response."""

    permission_classes = [IsAnnotator]
    # JSON only (the pages and scripts send and accept JSON): content negotiation is cheap.
    renderer_classes = [JSONRenderer]

    class InputSerializer(serializers.Serializer):
        label = serializers.IntegerField(min_value=0)
        time_taken_ms = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
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
        valid = plain_vote_input(request.data)
        if valid is None:  # anything unusual: the serializer validates it (and words the errors)
            data = self.InputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            valid = data.validated_data["label"], data.validated_data["time_taken_ms"], data.validated_data["next"]
        label, time_taken_ms, n_next = valid
        if not request.META.get(STATEMENT_TRIED):  # the fast path ran it already, and nothing was written
            merged = vote_answer_in_one_statement(request, assignment_id, label, time_taken_ms, n_next)
            if merged is not None:
                return Response(merged, status=status.HTTP_201_CREATED)
        # Nearly every vote is on a live reservation of a regular image: one statement on
        # Postgres. Everything else (and any refusal) takes the general path below.
        fast = vote_create_on_open_reservation(
            annotator=request.user, assignment_id=assignment_id, label=label, time_taken_ms=time_taken_ms
        )
        if fast is not None:
            outcome, project_id = fast
            project = project_get_cached(project_id=project_id)
        else:
            assignment = _own_assignment(request, assignment_id)
            outcome = vote_create(
                annotator=request.user, assignment=assignment, label=label, time_taken_ms=time_taken_ms
            )
            project = assignment.image.project
        remember_project(request.user.pk, project.pk)
        body = {
            "vote": _vote_data(outcome.vote),
            "notice": outcome.notice,
            **_next_and_progress(request, project, n_next),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AssignmentReportApi(APIView):
    """Report the image of your assignment ("no face / can't see") instead of voting."""

    permission_classes = [IsAnnotator]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
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
        body = _next_and_progress(request, assignment.image.project, data.validated_data["next"])
        return Response(body, status=status.HTTP_201_CREATED)


class AssignmentListApi(APIView):
    """Your own assignments, newest first (``?project=``, ``?status=``)."""

    permission_classes = [IsAnnotator]

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
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class VoteListApi(APIView):
    """Votes, newest first: annotators get their own, researchers and admins every vote
    (``?project=``, ``?annotator=``)."""

    permission_classes = [IsMember]

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
        queryset = Vote.objects.select_related("image").order_by("-id")
        if not has_role(request.user, RESEARCHER, ADMIN):
            queryset = queryset.filter(annotator=request.user)
        elif "annotator" in filters.validated_data:
            queryset = queryset.filter(annotator_id=filters.validated_data["annotator"])
        if "project" in filters.validated_data:
            queryset = queryset.filter(image__project_id=filters.validated_data["project"])
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = self.OutputSerializer(page, many=True).data
        if not has_role(request.user, RESEARCHER, ADMIN):
            # Gold checks are not revealed to annotators (their votes read as counted).
            for row, vote in zip(data, page, strict=True):
                row["counted"] = vote.counted or vote.is_gold
        return paginator.get_paginated_response(data)


urlpatterns: list[URLPattern] = [
    path("assignments", AssignmentListApi.as_view(), name="assignment-list"),
    path("assignments/<int:assignment_id>/vote", AssignmentVoteApi.as_view(), name="assignment-vote"),
    path("assignments/<int:assignment_id>/report", AssignmentReportApi.as_view(), name="assignment-report"),
    path("votes", VoteListApi.as_view(), name="vote-list"),
]

"""API views for studies on crowd markets (admins only; one view per operation).

Participant ids leave the server through two doors only, both here and both for admins: the
work log and its CSVs. Participants themselves enter through the page ``/study/<key>/``.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.fields import BoundedCharField
from annotation.errors import ServiceError
from annotation.models import Project, Study, StudyMarket
from annotation.permissions import IsAdmin
from annotation.selectors.studies import studies_list, study_work_log
from annotation.selectors.study_payments import CSV_KINDS, study_payment_csv
from annotation.services.studies import study_close, study_create, study_links_delete, study_reopen


class _RoundedDecimalField(serializers.DecimalField):
    """A decimal rounded (half up) to ``decimal_places`` instead of refused for more places, as
    its schema (a number between the bounds) promises."""

    def validate_precision(self, value: Decimal) -> Decimal:
        return super().validate_precision(value.quantize(Decimal(1).scaleb(-self.decimal_places), ROUND_HALF_UP))


class StudyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    name = serializers.CharField()
    market = serializers.ChoiceField(choices=StudyMarket.choices)
    quota = serializers.IntegerField()
    completion_code = serializers.CharField()
    screened_out_code = serializers.CharField()
    return_url = serializers.CharField()
    market_study_id = serializers.CharField()
    bonus_per_vote = serializers.DecimalField(max_digits=8, decimal_places=4)
    is_open = serializers.BooleanField()
    entry_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_entry_url(self, study: Study) -> str:
        """The entry URL without the market's parameters (the study page shows them)."""
        return reverse("frontend:study_entry", args=[study.entry_key])


def _study(study_id: int) -> Study:
    return get_object_or_404(Study.objects.select_related("project"), pk=study_id)


class StudyListCreateApi(APIView):
    """``GET``: every study, newest first. ``POST``: create an open study of a project."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        project = serializers.IntegerField()
        name = BoundedCharField(max_length=200, required=False, default="")
        market = serializers.ChoiceField(choices=StudyMarket.choices)
        quota = serializers.IntegerField(min_value=1)
        completion_code = BoundedCharField(max_length=64)
        screened_out_code = BoundedCharField(max_length=64, required=False, default="", allow_blank=True)
        return_url = serializers.URLField(max_length=500, required=False, default="", allow_blank=True)
        market_study_id = BoundedCharField(max_length=100, required=False, default="", allow_blank=True)
        # A number in the schema (with its bounds), not a string pattern that allows "-1".
        bonus_per_vote = _RoundedDecimalField(
            max_digits=8,
            decimal_places=4,
            min_value=0,
            max_value=Decimal("9999.9999"),
            required=False,
            default=0,
            coerce_to_string=False,
        )

    @extend_schema(responses={200: StudyOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(StudyOutputSerializer(studies_list(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: StudyOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = get_object_or_404(Project, pk=fields.pop("project"))
        study = study_create(project=project, created_by=request.user, **fields)
        return Response(StudyOutputSerializer(study).data, status=status.HTTP_201_CREATED)


class StudyDetailApi(APIView):
    """One study's settings."""

    permission_classes = [IsAdmin]

    @extend_schema(responses={200: StudyOutputSerializer})
    def get(self, request: Request, study_id: int) -> Response:
        return Response(StudyOutputSerializer(_study(study_id)).data)


class StudyCloseApi(APIView):
    """Close the study's entry link (no one new enters; those in may finish), or reopen it."""

    permission_classes = [IsAdmin]

    class InputSerializer(serializers.Serializer):
        open = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={200: StudyOutputSerializer})
    def post(self, request: Request, study_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = _study(study_id)
        study = study_reopen(study=study) if data.validated_data["open"] else study_close(study=study)
        return Response(StudyOutputSerializer(study).data)


class StudyParticipantLinksDeleteApi(APIView):
    """Delete every market participant id of the study; votes and the work log stay."""

    permission_classes = [IsAdmin]

    class OutputSerializer(serializers.Serializer):
        deleted = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def delete(self, request: Request, study_id: int) -> Response:
        return Response({"deleted": study_links_delete(study=_study(study_id))})


class WorkLogRowSerializer(serializers.Serializer):
    participant_id = serializers.CharField()
    market_study_id = serializers.CharField()
    session_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["started", "completed", "screened_out"])
    votes = serializers.IntegerField()
    gold_seen = serializers.IntegerField()
    gold_correct = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True)
    active_s = serializers.FloatField()
    elapsed_s = serializers.FloatField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    bonus = serializers.DecimalField(max_digits=12, decimal_places=2)
    flags = serializers.ListField(child=serializers.CharField())


class StudyWorkLogApi(APIView):
    """Every participant of the study: votes, gold accuracy, time, bonus and flags."""

    permission_classes = [IsAdmin]

    @extend_schema(responses={200: WorkLogRowSerializer(many=True)})
    def get(self, request: Request, study_id: int) -> Response:
        return Response(WorkLogRowSerializer(study_work_log(study=_study(study_id)), many=True).data)


class CsvRenderer(BaseRenderer):
    """Lets a client ask for ``text/csv``; the view answers with the CSV text itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # type: ignore[no-untyped-def]
        return data if isinstance(data, (str, bytes)) else json.dumps(data)


class StudyWorkLogCsvApi(APIView):
    """The work log as CSV: ``kind=worklog`` (every column), ``approve`` or ``bonus`` (in the
    shape of the market's bulk-approve and bonus tools)."""

    permission_classes = [IsAdmin]
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=list(CSV_KINDS), default="worklog")],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV text")},
    )
    def get(self, request: Request, study_id: int) -> HttpResponse:
        kind = request.query_params.get("kind", "worklog")
        if kind not in CSV_KINDS:
            raise ServiceError(f"kind is one of {', '.join(CSV_KINDS)}.", code="invalid")
        study = _study(study_id)
        response = HttpResponse(
            study_payment_csv(study=study, rows=study_work_log(study=study), kind=kind),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="study-{study.pk}-{kind}.csv"'
        response["Cache-Control"] = "no-store"
        return response


urlpatterns: list[URLPattern] = [
    path("studies", StudyListCreateApi.as_view(), name="study-list"),
    path("studies/<id:study_id>", StudyDetailApi.as_view(), name="study-detail"),
    path("studies/<id:study_id>/close", StudyCloseApi.as_view(), name="study-close"),
    path(
        "studies/<id:study_id>/participant-links",
        StudyParticipantLinksDeleteApi.as_view(),
        name="study-participant-links",
    ),
    path("studies/<id:study_id>/work-log", StudyWorkLogApi.as_view(), name="study-work-log"),
    path("studies/<id:study_id>/work-log.csv", StudyWorkLogCsvApi.as_view(), name="study-work-log-csv"),
]

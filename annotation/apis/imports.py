"""API views for imports (one view per operation): admins start an import job."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.fields import BoundedCharField
from annotation.apis.jobs import JobOutputSerializer
from annotation.apis.parsers import JSONParser
from annotation.models import Project
from annotation.permissions import IsAdmin
from annotation.services.imports import import_job_start
from config.body_limits import max_body

MAX_URLS_PER_REQUEST = 50_000


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "uri"},
            {
                "type": "object",
                "properties": {"url": {"type": "string", "format": "uri"}, "keyword": {"type": "string"}},
                "required": ["url"],
            },
        ]
    }
)
class UrlEntryField(serializers.Field):
    """A URL as a string, or ``{"url": ..., "keyword": ...}``."""

    def to_internal_value(self, data: Any) -> tuple[str, str]:
        if isinstance(data, str):
            url, keyword = data, ""
        elif isinstance(data, dict) and isinstance(data.get("url"), str):
            url, keyword = data["url"], str(data.get("keyword") or "")
        else:
            raise serializers.ValidationError('Each entry is a URL string or {"url": ..., "keyword": ...}.')
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")) or len(url) > 1000:
            raise serializers.ValidationError(f"Not an http(s) URL of at most 1000 characters: {url[:80]!r}.")
        return url, keyword.strip()[:200]

    def to_representation(self, value: Any) -> Any:
        return value


@max_body("RAF_MAX_UPLOAD_BYTES")
class ImportStartApi(APIView):
    """Start an import: multipart ``files`` (images and/or zips) or JSON ``urls``. Admins only."""

    permission_classes = [IsAdmin]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        files = serializers.ListField(child=serializers.FileField(), required=False, max_length=10_000)
        urls = serializers.ListField(child=UrlEntryField(), required=False, max_length=MAX_URLS_PER_REQUEST)
        keyword = BoundedCharField(required=False, allow_blank=True, max_length=200, default="")

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if bool(attrs.get("files")) == bool(attrs.get("urls")):
                raise serializers.ValidationError("Send either files or urls (one of them, not empty).")
            return attrs

    @extend_schema(request=InputSerializer, responses={202: JobOutputSerializer}, summary="Start an image import")
    def post(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = import_job_start(
            project=project,
            created_by=request.user,
            uploads=data.get("files") or None,
            urls=data.get("urls") or None,
            keyword=data["keyword"],
        )
        job.refresh_from_db()
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


urlpatterns: list[URLPattern] = [
    path("projects/<id:project_id>/imports", ImportStartApi.as_view(), name="import-start"),
]

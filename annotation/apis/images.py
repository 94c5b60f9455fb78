"""API views for images: list/detail for researchers and admins, and the display copy
(long side 512, JPEG) that pages show to annotators."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.pagination import Pagination
from annotation.models import Assignment, Face, Image, ImageStatus
from annotation.permissions import ADMIN, RESEARCHER, IsMember, IsResearcher, has_role
from annotation.services.image_display import image_display_bytes

DISPLAY_MAX_AGE_S = 24 * 3600


class FaceOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Face
        fields = [
            "id", "is_main", "x1", "y1", "x2", "y2", "confidence", "landmarks", "landmarks_source",
            "gender", "age_range", "race", "yaw", "pitch", "roll",
        ]  # fmt: skip


class ImageOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    faces = FaceOutputSerializer(many=True)

    class Meta:
        model = Image
        fields = [
            "id", "project", "url", "status", "reject_reason", "width", "height", "size_bytes", "sha256",
            "source", "keyword", "votes_wanted", "counted_votes", "reserved", "is_gold", "gold_label",
            "reference_label", "reference_subset", "reference_split", "created_at", "faces",
        ]  # fmt: skip

    def get_url(self, image: Image) -> str:
        return reverse("api:image-display", args=[image.pk])


class ImageDetailOutputSerializer(ImageOutputSerializer):
    label_counts = serializers.SerializerMethodField(help_text="Counted votes per class, in class order.")
    reports = serializers.IntegerField(source="n_reports")

    class Meta(ImageOutputSerializer.Meta):
        fields = [*ImageOutputSerializer.Meta.fields, "label_counts", "reports"]

    def get_label_counts(self, image: Image) -> list[int]:
        counts = [0] * image.project.n_classes
        for row in image.votes.filter(counted=True).values("label").annotate(n=Count("id")):
            if 0 <= row["label"] < len(counts):
                counts[row["label"]] = row["n"]
        return counts


def _images():
    return Image.objects.select_related("project").prefetch_related(
        Prefetch("faces", queryset=Face.objects.order_by("-is_main", "id"))
    )


class ImageListApi(APIView):
    """Images of a project with their faces and vote counts (researchers, admins)."""

    permission_classes = [IsResearcher]
    pagination_class = Pagination

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(required=False)
        status = serializers.ChoiceField(choices=ImageStatus.choices, required=False)
        is_gold = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(parameters=[FilterSerializer], responses={200: ImageOutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = _images().order_by("id")
        for name in ("project", "status", "is_gold"):
            if filters.validated_data.get(name) is not None:
                queryset = queryset.filter(**{name: filters.validated_data[name]})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(ImageOutputSerializer(page, many=True).data)


class ImageDetailApi(APIView):
    """One image with its faces, counted votes per class and number of reports."""

    permission_classes = [IsResearcher]

    @extend_schema(responses={200: ImageDetailOutputSerializer})
    def get(self, request: Request, image_id: int) -> Response:
        image = get_object_or_404(_images().annotate(n_reports=Count("reports")), pk=image_id)
        return Response(ImageDetailOutputSerializer(image).data)


class ImageDisplayApi(APIView):
    """The display copy (JPEG, long side 512). Annotators may fetch only images they were
    assigned; researchers and admins any image."""

    permission_classes = [IsMember]

    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request: Request, image_id: int) -> HttpResponse:
        image = get_object_or_404(Image, pk=image_id)
        if not has_role(request.user, RESEARCHER, ADMIN):
            if not Assignment.objects.filter(image=image, annotator=request.user).exists():
                # Not "forbidden": an annotator learns nothing about images not given to him.
                raise Http404
        etag = f'"{image.sha256}-512"'
        headers = {"Cache-Control": f"private, max-age={DISPLAY_MAX_AGE_S}", "ETag": etag}
        if request.headers.get("If-None-Match") == etag:
            return HttpResponseNotModified(headers=headers)
        return HttpResponse(image_display_bytes(image=image), content_type="image/jpeg", headers=headers)


urlpatterns: list[URLPattern] = [
    path("images", ImageListApi.as_view(), name="image-list"),
    path("images/<id:image_id>", ImageDetailApi.as_view(), name="image-detail"),
    path("images/<id:image_id>/display", ImageDisplayApi.as_view(), name="image-display"),
]

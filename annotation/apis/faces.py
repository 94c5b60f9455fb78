"""API views for faces (one view per operation): the correction queue, an image's faces, manual
corrections (annotators an admin made face editors of the image's project, and admins), and
starting detection (researchers, admins). A face editor of one project finds another project's
images and faces "not found"."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.apis.fields import BoundedCharField
from annotation.models import Face, FaceRevision, Image, ImageStatus, Project
from annotation.models.face import AgeRange, Gender, Race
from annotation.permissions import IsResearcher
from annotation.selectors.faces import can_edit_faces, faces_editable, faces_queue, image_faces, images_editable
from annotation.services.faces import (
    face_create_manual,
    face_set_main,
    face_update,
    faces_detect_start,
    image_reject,
)


class CanEditFaces(BasePermission):
    """Face editors of some project, and admins; each view narrows to the user's projects."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return can_edit_faces(request.user)


class PointField(serializers.ListField):
    child = serializers.FloatField()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=2, max_length=2, **kwargs)


class FaceGeometryInputSerializer(serializers.Serializer):
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4, required=False)
    landmarks = serializers.ListField(child=PointField(), min_length=5, max_length=5, required=False)
    gender = serializers.ChoiceField(choices=Gender.choices, allow_null=True, required=False)
    age_range = serializers.ChoiceField(choices=AgeRange.choices, allow_null=True, required=False)
    race = serializers.ChoiceField(choices=Race.choices, allow_null=True, required=False)

    def attributes(self) -> dict[str, int | None]:
        return {k: self.validated_data[k] for k in ("gender", "age_range", "race") if k in self.validated_data}


class FaceEditSerializer(serializers.ModelSerializer):
    box = serializers.SerializerMethodField()
    aligned_url = serializers.SerializerMethodField()
    aligned_grey_url = serializers.SerializerMethodField()

    class Meta:
        model = Face
        fields = [
            "id", "image", "is_main", "box", "confidence", "landmarks", "landmarks_source", "gender",
            "age_range", "race", "yaw", "pitch", "roll", "aligned_url", "aligned_grey_url", "updated_by",
            "updated_at",
        ]  # fmt: skip

    def get_box(self, face: Face) -> list[float]:
        return [face.x1, face.y1, face.x2, face.y2]

    def get_aligned_url(self, face: Face) -> str | None:
        return reverse("api:face-aligned", args=[face.pk]) if face.aligned else None

    def get_aligned_grey_url(self, face: Face) -> str | None:
        return reverse("api:face-aligned", args=[face.pk]) + "?grey=1" if face.aligned_grey else None


class FaceQueueItemSerializer(serializers.ModelSerializer):
    open_reports = serializers.IntegerField()
    n_faces = serializers.IntegerField()
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = ["id", "project", "status", "width", "height", "source", "open_reports", "n_faces", "file_url"]

    def get_file_url(self, image: Image) -> str:
        return reverse("api:face-image-file", args=[image.pk])


class FaceQueueApi(APIView):
    """Images needing a face or reported by annotators, oldest first (at most ``limit``)."""

    permission_classes = [CanEditFaces]

    class FilterSerializer(serializers.Serializer):
        project = serializers.IntegerField(required=False)
        limit = serializers.IntegerField(min_value=1, max_value=500, default=100)

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        results = FaceQueueItemSerializer(many=True)

    @extend_schema(parameters=[FilterSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queue = faces_queue(project_id=filters.validated_data.get("project"), user=request.user)
        items = list(queue[: filters.validated_data["limit"]])
        return Response({"count": queue.count(), "results": FaceQueueItemSerializer(items, many=True).data})


class ImageFacesApi(APIView):
    """One image with its faces (main first) and its open reports."""

    permission_classes = [CanEditFaces]

    class OutputSerializer(serializers.ModelSerializer):
        file_url = serializers.SerializerMethodField()
        faces = serializers.SerializerMethodField()
        reports = serializers.SerializerMethodField()

        class Meta:
            model = Image
            fields = ["id", "project", "status", "reject_reason", "width", "height", "file_url", "faces", "reports"]

        def get_file_url(self, image: Image) -> str:
            return reverse("api:face-image-file", args=[image.pk])

        def get_faces(self, image: Image) -> list[dict[str, Any]]:
            return FaceEditSerializer(image_faces(image=image), many=True).data

        def get_reports(self, image: Image) -> list[dict[str, Any]]:
            return [
                {"reason": r.reason, "created_at": r.created_at.isoformat()}
                for r in image.reports.filter(resolved_at__isnull=True).order_by("created_at")
            ]

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, image_id: int) -> Response:
        image = get_object_or_404(images_editable(request.user), pk=image_id)
        return Response(self.OutputSerializer(image).data)


class ImageFileApi(APIView):
    """The stored photo itself, at full size (landmarks are in its pixels)."""

    permission_classes = [CanEditFaces]

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, image_id: int) -> FileResponse:
        image = get_object_or_404(images_editable(request.user), pk=image_id)
        response = FileResponse(image.file.open("rb"))
        response["Cache-Control"] = "private, max-age=3600"
        return response


class FaceAlignedApi(APIView):
    """The face's aligned 100x100 PNG (``?grey=1`` for the grey one)."""

    permission_classes = [CanEditFaces]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY})
    def get(self, request: Request, face_id: int) -> FileResponse:
        face = get_object_or_404(faces_editable(request.user), pk=face_id)
        field = face.aligned_grey if request.query_params.get("grey") in ("1", "true") else face.aligned
        if not field:
            raise Http404
        return FileResponse(field.open("rb"), content_type="image/png")


class FaceUpdateApi(APIView):
    """Correct a face's box, landmarks (stored as manual) and attributes."""

    permission_classes = [CanEditFaces]

    @extend_schema(request=FaceGeometryInputSerializer, responses=FaceEditSerializer)
    def patch(self, request: Request, face_id: int) -> Response:
        face = get_object_or_404(faces_editable(request.user).select_related("image"), pk=face_id)
        data = FaceGeometryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        face = face_update(
            face=face,
            box=data.validated_data.get("box"),
            landmarks=data.validated_data.get("landmarks"),
            attributes=data.attributes(),
            user=request.user,
        )
        return Response(FaceEditSerializer(face).data)


class FaceCreateApi(APIView):
    """Draw a face by hand on an image (box and 5 landmarks required)."""

    permission_classes = [CanEditFaces]

    class InputSerializer(FaceGeometryInputSerializer):
        box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)
        landmarks = serializers.ListField(child=PointField(), min_length=5, max_length=5)

    @extend_schema(request=InputSerializer, responses={201: FaceEditSerializer})
    def post(self, request: Request, image_id: int) -> Response:
        image = get_object_or_404(images_editable(request.user), pk=image_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        face = face_create_manual(
            image=image,
            box=data.validated_data["box"],
            landmarks=data.validated_data["landmarks"],
            attributes=data.attributes(),
            user=request.user,
        )
        return Response(FaceEditSerializer(face).data, status=status.HTTP_201_CREATED)


class FaceSetMainApi(APIView):
    """Make this face the annotated (main) face of its image."""

    permission_classes = [CanEditFaces]

    @extend_schema(request=None, responses=FaceEditSerializer)
    def post(self, request: Request, face_id: int) -> Response:
        face = face_set_main(face=get_object_or_404(faces_editable(request.user), pk=face_id), user=request.user)
        return Response(FaceEditSerializer(face).data)


class FaceRevisionsApi(APIView):
    """Who changed a face, when, and the values before and after, newest first."""

    permission_classes = [CanEditFaces]

    class OutputSerializer(serializers.ModelSerializer):
        changed_by = serializers.CharField(source="changed_by.username", default=None)

        class Meta:
            model = FaceRevision
            fields = ["id", "changed_by", "changed_at", "before", "after"]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, face_id: int) -> Response:
        face = get_object_or_404(faces_editable(request.user), pk=face_id)
        revisions = face.revisions.select_related("changed_by").order_by("-changed_at", "-pk")
        return Response(self.OutputSerializer(revisions, many=True).data)


class ImageRejectApi(APIView):
    """Reject an image: it leaves labelling for good, with the reason kept."""

    permission_classes = [CanEditFaces]

    class InputSerializer(serializers.Serializer):
        reason = BoundedCharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, image_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image = image_reject(
            image=get_object_or_404(images_editable(request.user), pk=image_id),
            reason=data.validated_data["reason"],
            user=request.user,
        )
        return Response({"id": image.pk, "status": image.status, "reject_reason": image.reject_reason})


class FacesDetectApi(APIView):
    """Start face detection for images of a project (default: every image still needing a
    face and without one). Researchers and admins."""

    permission_classes = [IsResearcher]

    class InputSerializer(serializers.Serializer):
        image_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=100_000)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        status = serializers.CharField()
        progress = serializers.FloatField()
        message = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project = get_object_or_404(Project, pk=project_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data.get("image_ids")
        if ids is None:
            ids = list(
                project.images.filter(status=ImageStatus.NEEDS_FACE, faces__isnull=True).values_list("pk", flat=True)
            )
        job = faces_detect_start(project=project, image_ids=ids, created_by=request.user)
        job.refresh_from_db()
        return Response(self.OutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


urlpatterns: list[URLPattern] = [
    path("faces/queue", FaceQueueApi.as_view(), name="face-queue"),
    path("faces/images/<id:image_id>", ImageFacesApi.as_view(), name="face-image"),
    path("faces/images/<id:image_id>/file", ImageFileApi.as_view(), name="face-image-file"),
    path("faces/images/<id:image_id>/faces", FaceCreateApi.as_view(), name="face-create"),
    path("faces/images/<id:image_id>/reject", ImageRejectApi.as_view(), name="face-image-reject"),
    path("faces/<id:face_id>", FaceUpdateApi.as_view(), name="face-update"),
    path("faces/<id:face_id>/main", FaceSetMainApi.as_view(), name="face-set-main"),
    path("faces/<id:face_id>/aligned", FaceAlignedApi.as_view(), name="face-aligned"),
    path("faces/<id:face_id>/revisions", FaceRevisionsApi.as_view(), name="face-revisions"),
    path("projects/<id:project_id>/faces/detect", FacesDetectApi.as_view(), name="faces-detect"),
]

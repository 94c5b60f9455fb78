"""API view for expression prediction with the project's current model."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.errors import ServiceError
from annotation.models import Project
from annotation.permissions import IsResearcher
from annotation.services.predict import expression_predict
from config.body_limits import max_body


@max_body("RAF_MAX_IMAGE_BYTES")
class PredictApi(APIView):
    """``POST /api/v1/predict`` (multipart: ``project``, ``image``, optional ``aligned``) ->
    ``{"model", "classes", "faces": [{"box": [x1, y1, x2, y2], "confidence", "probabilities", "label"}]}``."""

    permission_classes = [IsResearcher]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        project = serializers.IntegerField()
        image = serializers.FileField()
        aligned = serializers.BooleanField(default=False)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["image"]
        limit = settings.RAF_MAX_IMAGE_BYTES
        if upload.size > limit:
            raise ServiceError(f"The image is larger than {limit} bytes.", code="too_large", status_code=413)
        project = get_object_or_404(Project.objects.select_related("current_model"), pk=data.validated_data["project"])
        result = expression_predict(project=project, data=upload.read(), aligned=data.validated_data["aligned"])
        return Response(result)


urlpatterns: list[URLPattern] = [path("predict", PredictApi.as_view(), name="predict")]

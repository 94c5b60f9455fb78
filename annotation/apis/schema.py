"""OpenAPI schema generation for views that nest their serializers (``InputSerializer``,
``OutputSerializer``): components are named after the view, so they never collide. Every
operation documents the error answers it can give, in the one error shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    """``{"error": {"code", "message", "details"}}``: every API error, the 500 included."""

    error = ErrorBodySerializer()


# Answers any operation may give whatever its own logic: bad input (400), no or wrong credentials
# (401/403), an unknown or foreign id (404), a refused write (409), a body over the cap (413),
# a rate limit or lockout (429). Downloads add 410 (an expired link).
_COMMON_ERRORS = (400, 401, 403, 404, 409, 413, 429)


class ViewNamedAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        name = super().get_serializer_name(serializer, direction)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            # ProjectClaimApi.InputSerializer -> ProjectClaimInput
            return qualname.rsplit(".", 1)[0].removesuffix("Api") + name
        return name

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:  # type: ignore[override]
        responses = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        if direction != "response":
            return responses
        codes = _COMMON_ERRORS + ((410,) if "download" in self.path else ())
        for code in codes:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(ErrorSerializer, str(code))
        return responses

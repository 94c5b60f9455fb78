"""OpenAPI schema generation for views that nest their serializers (``InputSerializer``,
``OutputSerializer``): components are named after the view, so they never collide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class ViewNamedAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        name = super().get_serializer_name(serializer, direction)
        qualname = type(serializer).__qualname__
        if "." in qualname:
            # ProjectClaimApi.InputSerializer -> ProjectClaimInput
            return qualname.rsplit(".", 1)[0].removesuffix("Api") + name
        return name

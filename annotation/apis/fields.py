"""Serializer fields shared by the API's input serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class BoundedCharField(serializers.CharField):
    """DRF's ``CharField`` with ``max_length`` checked on the text as sent, before surrounding
    whitespace is trimmed: the schema's ``maxLength`` is about what a client sends, and DRF
    otherwise accepted 600 characters for a 500-character field when the first were spaces."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)

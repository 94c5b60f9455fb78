"""Serializer fields shared by the API's input serializers."""

from __future__ import annotations

import copy
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


class FlatInputSerializer(serializers.Serializer):
    """A serializer of plain fields whose instances copy the declared fields shallowly.

    DRF deep-copies every declared field for every serializer instance, and a field's deep copy
    builds it again from its arguments (its validators, its lazily translated messages): about
    70 microseconds for the vote's three integers, on every vote. A shallow copy is enough for a
    field that holds no other field: ``bind`` sets the copy's own name and parent, and the
    validators and messages it shares with the declared field are only read. Nested serializers
    and list fields (which bind a child) are refused when the class is defined."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, field in getattr(cls, "_declared_fields", {}).items():
            if isinstance(field, (serializers.BaseSerializer, serializers.ListField, serializers.DictField)):
                raise TypeError(f"{cls.__qualname__}.{name}: a FlatInputSerializer holds plain fields only.")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

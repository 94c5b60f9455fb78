"""``?limit=&offset=`` pagination for every list endpoint, with bounds."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Postgres' OFFSET is a bigint: a larger one is an error in the database, not an empty page.
MAX_OFFSET = 2**63 - 1


class Pagination(LimitOffsetPagination):
    """DRF's limit/offset pagination, strict: ``?limit=`` (at least 1) is cut to
    ``RAF_MAX_PAGE_SIZE``; ``?offset=`` (0 up to a bigint) past that, or either one not a whole
    number, is ``400 invalid`` instead of silently the default, as the schema says."""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.RAF_MAX_PAGE_SIZE)

    def get_limit(self, request: Request) -> int | None:
        if self.limit_query_param not in request.query_params:
            return self.default_limit
        return min(_whole(request, self.limit_query_param, minimum=1), self.max_limit)

    def get_offset(self, request: Request) -> int:
        if self.offset_query_param not in request.query_params:
            return 0
        return _whole(request, self.offset_query_param, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def _whole(request: Request, name: str, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params[name]
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f" from {minimum}" + (f" to {maximum}" if maximum is not None else " up")
        raise ValidationError({name: [f"A whole number{bound} is required."]})
    return value

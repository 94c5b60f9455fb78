"""``?limit=&offset=`` pagination for every list endpoint, with bounds."""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Postgres' OFFSET is a bigint: a larger one is an error in the database, not an empty page.
MAX_OFFSET = 2**63 - 1


class Pagination(LimitOffsetPagination):
    """DRF's limit/offset pagination with ``?limit=`` cut to ``RAF_MAX_PAGE_SIZE`` and an
    ``?offset=`` past a bigint refused as ``400 invalid``."""

    @property
    def max_limit(self) -> int:  # type: ignore[override]
        return int(settings.RAF_MAX_PAGE_SIZE)

    def get_offset(self, request: Request) -> int:
        offset = super().get_offset(request)
        if offset > MAX_OFFSET:
            raise ValidationError({"offset": [f"Ensure this value is less than or equal to {MAX_OFFSET}."]})
        return offset

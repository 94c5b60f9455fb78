"""The API documentation pages (Swagger UI, ReDoc), served from this site alone.

Both come from drf-spectacular's sidecar (static files here, no CDN). Each page also carries a
Content-Security-Policy that lets the browser load nothing from another site: ReDoc's own
bundle asks for its logo on Redocly's CDN, and drf-spectacular's ReDoc template links Google
Fonts (``frontend/redoc.html`` drops that link). On a machine without internet the pages are
the same; elsewhere, reading the docs tells no other site who reads them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

# Inline scripts and styles: the pages' own set-up code. blob: workers: ReDoc's search index.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class _SelfOnly:
    @extend_schema(exclude=True)  # as drf-spectacular's own views: pages, not API operations
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_CSP
        return response


class SwaggerView(_SelfOnly, SpectacularSwaggerView):
    pass


class RedocView(_SelfOnly, SpectacularRedocView):
    template_name = "frontend/redoc.html"

"""Request bodies are capped before they are read.

Every view accepts at most ``RAF_MAX_BODY_BYTES`` (2 MB); a view marked with
:func:`max_body` takes up to the setting it names (the import endpoint
``RAF_MAX_UPLOAD_BYTES``, prediction ``RAF_MAX_IMAGE_BYTES``) as multipart upload, which Django
streams to temporary files on disk past ``FILE_UPLOAD_MAX_MEMORY_SIZE``. A body over the cap is answered
``413`` in the API's error shape, and its bytes are never read into memory. A body without a
``Content-Length`` (chunked) is capped by Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` as it is
read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

View = TypeVar("View", bound=Callable[..., Any])


def max_body(setting: str) -> Callable[[View], View]:
    """Let a view (function, or DRF ``APIView`` class) take bodies up to ``settings.<setting>`` bytes."""

    def mark(view: View) -> View:
        view.raf_max_body_setting = setting  # type: ignore[attr-defined]
        return view

    return mark


def body_cap(view_func: Callable[..., Any]) -> int:
    """The most bytes of body ``view_func`` takes."""
    setting = getattr(view_func, "raf_max_body_setting", None) or getattr(
        getattr(view_func, "cls", None), "raf_max_body_setting", None
    )
    return int(getattr(settings, setting)) if setting else int(settings.RAF_MAX_BODY_BYTES)


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], *args: Any) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        cap = body_cap(view_func)
        if length <= cap:
            return None
        message = f"The request body is {length} bytes; this endpoint takes at most {cap}."
        if request.path.startswith("/api/"):
            body = {"error": {"code": "too_large", "message": message, "details": {"max_bytes": cap}}}
            response: HttpResponse = JsonResponse(body, status=413)
        else:
            response = HttpResponse(message, status=413, content_type="text/plain")
        # The unread body would otherwise be read by the server to keep the connection alive.
        response["Connection"] = "close"
        return response

"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

DRF's exceptions and :class:`ServiceError` go through :func:`exception_handler`; what Django
answers outside DRF under ``/api/`` (an unknown route, a server error) through :func:`not_found`
and :func:`server_error`, the URLconf's ``handler404`` / ``handler500``."""

from __future__ import annotations

from typing import Any

from axes.exceptions import AxesBackendPermissionDenied
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.errors import ServiceError

__all__ = ["ServiceError", "exception_handler", "not_found", "server_error"]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, AxesBackendPermissionDenied):
        # django-axes refused the credentials: too many failures for this username or address.
        message = "Too many failed logins; try again later or ask an admin to lift the lockout."
        return Response(_body("locked_out", message, None), status=429)
    if isinstance(exc, ServiceError):
        return Response(_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", "The request is not valid.", response.data)
    elif isinstance(exc, exceptions.Throttled):
        response.data = _body("throttled", str(exc.detail), {"wait_s": exc.wait})
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = _body(str(code), str(detail) if not isinstance(detail, (dict, list)) else "Error", None)
    return response


def _body(code: str, message: str, details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a route the API does not have answers in the API's shape."""
    if _api(request):
        return JsonResponse(_body("not_found", "Not found.", None), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an unexpected error (logged by Django) answers in the API's shape."""
    if _api(request):
        return JsonResponse(_body("server_error", "Something went wrong on the server.", None), status=500)
    return defaults.server_error(request)

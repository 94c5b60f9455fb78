"""Who may see which page, and the context every page template gets."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.permissions import ADMIN, ANNOTATOR, RESEARCHER, has_role
from annotation.selectors.faces import can_edit_faces

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Logged-in users holding any of ``roles`` (admins hold all); others get 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a page with the user's roles, which the navigation needs."""
    user = request.user
    base = {
        "is_admin": has_role(user, ADMIN),
        "is_researcher": has_role(user, RESEARCHER),
        "is_annotator": has_role(user, ANNOTATOR),
        "can_edit_faces": can_edit_faces(user),
    }
    return render(request, f"frontend/{template}", {**base, **(context or {})}, status=status)

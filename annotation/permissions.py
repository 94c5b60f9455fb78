"""Roles are Django groups (annotator, researcher, admin); superusers count as admins.

DRF permission classes for the API and a plain helper for pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission

ANNOTATOR, RESEARCHER, ADMIN = "annotator", "researcher", "admin"


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_raf_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        if user.is_superuser:  # type: ignore[attr-defined]
            cached.add(ADMIN)
        user._raf_roles = cached  # type: ignore[union-attr]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """True when the user holds any of ``roles``; admins hold every role."""
    held = user_roles(user)
    return ADMIN in held or bool(held.intersection(roles))


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request.user, *self.roles)


class IsAnnotator(_RolePermission):
    roles = (ANNOTATOR,)


class IsResearcher(_RolePermission):
    roles = (RESEARCHER,)


class IsAdmin(_RolePermission):
    roles = (ADMIN,)


class IsMember(_RolePermission):
    """Any role: annotators, researchers and admins."""

    roles = (ANNOTATOR, RESEARCHER, ADMIN)

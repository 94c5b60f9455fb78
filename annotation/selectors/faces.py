"""Reads for face correction: who may edit, the queue of images to look at, one image's faces."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from annotation.models import AnnotatorProfile, Face, Image, ImageStatus
from annotation.permissions import ADMIN, has_role


def can_edit_faces(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Trusted annotators (``AnnotatorProfile.trusted``) and admins correct faces."""
    if not user.is_authenticated:
        return False
    return has_role(user, ADMIN) or AnnotatorProfile.objects.filter(user_id=user.pk, trusted=True).exists()


def faces_queue(*, project_id: int | None = None) -> QuerySet[Image]:
    """Images a person should look at: those still needing a face, and those with open
    "no face / can't see" reports. Needing a face first, then most reported, oldest first.
    Each row carries ``open_reports`` and ``n_faces``."""
    images = Image.objects.exclude(status__in=[ImageStatus.REJECTED, ImageStatus.RETIRED])
    if project_id is not None:
        images = images.filter(project_id=project_id)
    return (
        images.annotate(
            open_reports=Count("reports", filter=Q(reports__resolved_at__isnull=True), distinct=True),
            n_faces=Count("faces", distinct=True),
        )
        .filter(Q(status=ImageStatus.NEEDS_FACE) | Q(open_reports__gt=0))
        .select_related("project")
        .order_by("status", "-open_reports", "created_at", "pk")
    )


def image_faces(*, image: Image) -> QuerySet[Face]:
    """The faces of an image, main face first."""
    return image.faces.order_by("-is_main", "pk")

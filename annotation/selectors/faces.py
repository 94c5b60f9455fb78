"""Reads for face correction: who may edit, the queue of images to look at, one image's faces."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from annotation.models import Face, Image, ImageStatus, Qualification
from annotation.permissions import ADMIN, has_role


def face_projects_editable(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Qualification] | None:
    """The projects whose faces ``user`` may correct, as a ``project_id`` values queryset, or
    ``None`` for every project (admins). Face correction is a role per project
    (``Qualification.may_edit_faces``), granted by an admin."""
    if has_role(user, ADMIN):
        return None
    return Qualification.objects.filter(annotator_id=user.pk, may_edit_faces=True).values("project_id")


def can_edit_faces(user: AbstractBaseUser | AnonymousUser, *, project_id: int | None = None) -> bool:
    """Whether ``user`` corrects faces in ``project_id`` (``None``: in some project)."""
    if not user.is_authenticated:
        return False
    projects = face_projects_editable(user)
    if projects is None:
        return True
    return (projects.filter(project_id=project_id) if project_id is not None else projects).exists()


def images_editable(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Image]:
    """The images whose faces ``user`` may see in full and correct; another project's are "not found"."""
    projects = face_projects_editable(user)
    return Image.objects.all() if projects is None else Image.objects.filter(project_id__in=projects)


def faces_editable(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Face]:
    """The faces of :func:`images_editable`."""
    projects = face_projects_editable(user)
    return Face.objects.all() if projects is None else Face.objects.filter(image__project_id__in=projects)


def faces_queue(
    *, project_id: int | None = None, user: AbstractBaseUser | AnonymousUser | None = None
) -> QuerySet[Image]:
    """Images a person should look at: those still needing a face, and those with open
    "no face / can't see" reports. Needing a face first, then most reported, oldest first.
    Each row carries ``open_reports`` and ``n_faces``. With ``user``, only the projects they
    correct faces in."""
    images = (images_editable(user) if user is not None else Image.objects.all()).exclude(
        status__in=[ImageStatus.REJECTED, ImageStatus.RETIRED]
    )
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

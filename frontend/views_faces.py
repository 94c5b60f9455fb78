"""Face correction pages: the queue of images to look at, and the editor of one image's faces.

Both are for face editors (a role per project, ``Qualification.may_edit_faces``) and admins;
the editor talks to the faces API (``annotation/apis/faces.py``) from
``static/frontend/faces_edit.js``.
"""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.models import Project
from annotation.models.face import AgeRange, Gender, Race
from annotation.selectors.faces import can_edit_faces, faces_queue, images_editable
from frontend.access import page


def _editor_or_refuse(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_edit_faces(request.user):
        raise PermissionDenied("Only face editors and admins correct faces.")
    return None


def faces_queue_page(request: HttpRequest) -> HttpResponse:
    """Images needing a face or reported by annotators (``?project=`` to narrow)."""
    refused = _editor_or_refuse(request)
    if refused:
        return refused
    project_id = request.GET.get("project")
    project = get_object_or_404(Project, pk=int(project_id)) if project_id and project_id.isdigit() else None
    queue = faces_queue(project_id=project.pk if project else None, user=request.user)
    context = {
        "images": queue[:200],
        "total": queue.count(),
        "project": project,
        "projects": Project.objects.order_by("name"),
    }
    return page(request, "faces/queue.html", {**context, "nav": "faces"})


@ensure_csrf_cookie
def face_edit_page(request: HttpRequest, image_id: int) -> HttpResponse:
    """The editor: the photo with each face's box and 5 landmarks, attributes, save, reject."""
    refused = _editor_or_refuse(request)
    if refused:
        return refused
    image = get_object_or_404(images_editable(request.user), pk=image_id)
    following = (
        faces_queue(project_id=image.project_id, user=request.user)
        .exclude(pk=image.pk)
        .values_list("pk", flat=True)
        .first()
    )
    config = {
        "imageUrl": reverse("api:face-image", args=[image.pk]),
        "faceUrl": reverse("api:face-update", args=[0]).rsplit("0", 1)[0],
        "createUrl": reverse("api:face-create", args=[image.pk]),
        "rejectUrl": reverse("api:face-image-reject", args=[image.pk]),
        "nextUrl": reverse("frontend:face-edit", args=[following]) if following else None,
        "queueUrl": reverse("frontend:faces-queue"),
    }
    choices = {
        "gender": Gender.choices,
        "age_range": AgeRange.choices,
        "race": Race.choices,
    }
    return page(request, "faces/edit.html", {"image": image, "config": config, "choices": choices, "nav": "faces"})

"""Pictures of gold images for the tutorial and the quiz.

Annotators may not fetch gold images through the API's display route (it serves only images
assigned to them), and its URL carries the image id, which would let someone recognise a
gold check later in the stream. These routes name a picture by its class (tutorial example)
or by its position in the annotator's current quiz (kept in the session), never by id.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from annotation.models import Project
from annotation.permissions import ANNOTATOR
from annotation.services.image_display import image_display_bytes
from annotation.services.qualification import quiz_image_ids, tutorial_example_images
from frontend.access import role_required

QUIZ_SESSION_KEY = "raf.quiz.{project_id}"


def _jpeg(data: bytes) -> HttpResponse:
    return HttpResponse(data, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


@role_required(ANNOTATOR)
def tutorial_example(request: HttpRequest, project_id: int, label: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    image = tutorial_example_images(project=project).get(label)
    if image is None:
        raise Http404
    return _jpeg(image_display_bytes(image=image))


@role_required(ANNOTATOR)
def quiz_picture(request: HttpRequest, project_id: int, position: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    token = request.session.get(QUIZ_SESSION_KEY.format(project_id=project.pk), "")
    image_ids = quiz_image_ids(token=token)
    if not 0 <= position < len(image_ids):
        raise Http404
    image = get_object_or_404(project.images.filter(is_gold=True), pk=image_ids[position])
    return _jpeg(image_display_bytes(image=image))

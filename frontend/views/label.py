"""The labelling page. Its script talks to core's claim/vote/report/progress API."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from annotation.models import Project
from annotation.permissions import ANNOTATOR
from annotation.services.qualification import qualification_get
from frontend.access import page, role_required
from frontend.views.studies import participant_gate, participant_label_context


@role_required(ANNOTATOR)
def label(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    if (elsewhere := participant_gate(request, project)) is not None:
        return elsewhere
    qualification = qualification_get(annotator=request.user, project=project)
    if qualification.tutorial_read_at is None:
        return redirect("frontend:tutorial", project_id=project.pk)
    if not qualification.is_qualified:
        return redirect("frontend:quiz", project_id=project.pk)
    classes = [{"index": i, "key": i + 1, "name": name} for i, name in enumerate(project.classes)]
    return page(
        request,
        "label.html",
        {
            "project": project,
            "classes": classes,
            "study": participant_label_context(request),
            "api": {
                "claim": f"/api/v1/projects/{project.pk}/claim",
                "progress": f"/api/v1/projects/{project.pk}/progress",
                "assignments": "/api/v1/assignments/",
                "votes": "/api/v1/votes/",
            },
        },
    )

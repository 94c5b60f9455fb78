"""Project dashboard for researchers and admins, and the JSON its script polls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404

from annotation.models import ImageStatus, Project
from annotation.permissions import RESEARCHER
from annotation.selectors.dashboard import dashboard_stats_cached
from frontend.access import page, role_required


@role_required(RESEARCHER)
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    stats = dashboard_stats_cached(project=project)
    labels = {**dict(ImageStatus.choices), "gold": "Gold checks"}
    status_rows = [{"key": key, "label": labels.get(key, key), "count": n} for key, n in stats["images"].items()]
    return page(request, "dashboard.html", {"project": project, "stats": stats, "status_rows": status_rows})


@role_required(RESEARCHER)
def dashboard_data(request: HttpRequest, project_id: int) -> JsonResponse:
    project = get_object_or_404(Project, pk=project_id)
    response = JsonResponse(dashboard_stats_cached(project=project))
    response["Cache-Control"] = "no-store"
    return response

"""Project dashboard for researchers and admins, and the JSON its script polls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.models import ImageStatus, Job, Project
from annotation.permissions import RESEARCHER
from annotation.selectors.dashboard import dashboard_stats_cached
from annotation.selectors.reliability import reliability_run_list
from frontend.access import page, role_required


@role_required(RESEARCHER)
@ensure_csrf_cookie
def dashboard(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(Project, pk=project_id)
    stats = dashboard_stats_cached(project=project)
    labels = {**dict(ImageStatus.choices), "gold": "Gold checks"}
    status_rows = [{"key": key, "label": labels.get(key, key), "count": n} for key, n in stats["images"].items()]
    runs = reliability_run_list(project=project)
    current_run = runs.filter(is_current=True).first()
    latest = runs.first()
    active = None
    if latest is not None and latest.job is not None and latest.job.status in Job.ACTIVE and not latest.succeeded:
        active = {
            "run": latest,
            "job": {
                "id": latest.job_id,
                "status": latest.job.status,
                "progress": latest.job.progress,
                "message": latest.job.message,
            },
        }
    context = {
        "project": project,
        "stats": stats,
        "status_rows": status_rows,
        "current_run": current_run,
        "active": active,
        "project_nav": "dashboard",
    }
    return page(request, "dashboard.html", context)


@role_required(RESEARCHER)
def dashboard_data(request: HttpRequest, project_id: int) -> JsonResponse:
    project = get_object_or_404(Project, pk=project_id)
    response = JsonResponse(dashboard_stats_cached(project=project))
    response["Cache-Control"] = "no-store"
    return response

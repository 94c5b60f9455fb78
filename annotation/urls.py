"""API routes under /api/v1/: each topic's views module owns its urlpatterns."""

from __future__ import annotations

from annotation.apis import (
    assignments,
    auth,
    exports,
    faces,
    images,
    imports,
    jobs,
    predict,
    projects,
    reliability,
    spammers,
    studies,
    training,
)

app_name = "api"

urlpatterns = [
    *auth.urlpatterns,
    *projects.urlpatterns,
    *assignments.urlpatterns,
    *images.urlpatterns,
    *imports.urlpatterns,
    *jobs.urlpatterns,
    *reliability.urlpatterns,
    *spammers.urlpatterns,
    *training.urlpatterns,
    *exports.urlpatterns,
    *faces.urlpatterns,
    *predict.urlpatterns,
    *studies.urlpatterns,
]

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_docs import RedocView, SwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotation.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("frontend.urls")),
]
# Stored files (exports, originals, display copies) are never served as /media/: each has a
# view that checks who asks (and for exports, a signed expiring link), in DEBUG too.
handler404 = "annotation.apis.errors.not_found"
handler500 = "annotation.apis.errors.server_error"

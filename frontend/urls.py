from __future__ import annotations

from django.urls import include, path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("frontend.urls_faces")),
]

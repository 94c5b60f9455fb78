"""Routes of the face correction pages (included by ``frontend/urls.py``, namespace ``frontend``)."""

from __future__ import annotations

from django.urls import path

from frontend import views_faces

urlpatterns = [
    path("faces/", views_faces.faces_queue_page, name="faces-queue"),
    path("faces/images/<id:image_id>/", views_faces.face_edit_page, name="face-edit"),
]

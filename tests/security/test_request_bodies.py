"""Oversized and malformed requests: a small body cap everywhere but the import endpoint, JSON
nested past the recursion limit, ids and page bounds past a bigint, and every API error (the
500 included) in the one error shape."""

from __future__ import annotations

import io
import json

import pytest
from axes.models import AccessAttempt
from django.test import Client
from rest_framework.test import APIClient

from annotation.models import Project
from tests.annotation.factories import make_project, make_user
from tests.factories import jpeg_bytes

pytestmark = [pytest.mark.django_db]


def _admin() -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user("admin"))
    return client


def _error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def test_it_refuses_a_large_anonymous_body_before_reading_it(settings) -> None:
    body = b'{"username": "' + b"a" * (3 * 1024 * 1024) + b'", "password": "x"}'
    response = Client().post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "too_large"
    assert _error(response)["details"] == {"max_bytes": settings.RAF_MAX_BODY_BYTES}
    # Refused before the view: no login attempt was even recorded.
    assert not AccessAttempt.objects.exists()


def test_it_takes_large_uploads_on_the_import_endpoint_only() -> None:
    project = make_project()
    # 3 MB of image data: over the default cap, under the import cap.
    upload = io.BytesIO(jpeg_bytes(width=16, height=16) + b"\0" * (3 * 1024 * 1024))
    upload.name = "big.jpg"
    response = _admin().post(f"/api/v1/projects/{project.pk}/imports", {"files": [upload]}, format="multipart")
    assert response.status_code == 202, response.content[:300]
    upload.seek(0)
    response = _admin().patch(
        f"/api/v1/projects/{project.pk}", {"tutorial_text": "x" * (3 * 1024 * 1024)}, format="json"
    )
    assert response.status_code == 413


def test_it_answers_deeply_nested_json_with_400() -> None:
    body = "[" * 3000 + "]" * 3000
    response = Client().post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


@pytest.mark.parametrize("path", ["/api/v1/projects/9223372036854775808", "/api/v1/jobs/99999999999999999999999"])
def test_it_answers_ids_past_a_bigint_with_404(path: str) -> None:
    response = _admin().get(path)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_it_bounds_the_page_size_and_offset(settings) -> None:
    settings.RAF_MAX_PAGE_SIZE = 5
    client = _admin()
    response = client.get("/api/v1/jobs", {"limit": 10**30})
    assert response.status_code == 200 and response.json()["results"] == []
    assert "limit=5" in (response.json()["next"] or "limit=5")
    response = client.get("/api/v1/votes", {"offset": 10**30})
    assert response.status_code == 400 and _error(response)["code"] == "invalid"


def test_unknown_api_routes_and_server_errors_have_the_error_shape(monkeypatch) -> None:
    client = _admin()
    client.raise_request_exception = False
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404 and _error(response)["code"] == "not_found"

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Project.objects, "order_by", broken)
    response = client.get("/api/v1/projects")
    assert response.status_code == 500
    assert _error(response) == {
        "code": "server_error",
        "message": "Something went wrong on the server.",
        "details": None,
    }
    assert "a bug" not in json.dumps(response.json())


def test_max_length_counts_the_text_as_sent() -> None:
    # The schema says 200 characters; spaces in front no longer buy 300.
    project = make_project()
    response = _admin().post("/api/v1/projects", {"name": " " * 100 + "x" * 150}, format="json")
    assert response.status_code == 400 and "name" in _error(response)["details"]
    assert not Project.objects.filter(name="x" * 150).exists() and project.pk


def test_pages_answer_not_found_and_server_errors_with_the_sites_own_pages(monkeypatch) -> None:
    """Pages (not the API) get the site's 404 and 500 pages, never Django's bare or debug ones."""
    client = Client(raise_request_exception=False)
    client.force_login(make_user("admin"))
    response = client.get("/images/99999999/")
    page = response.content.decode()
    assert response.status_code == 404 and "<h1>Page not found</h1>" in page and "frontend/raf.css" in page
    assert "/images/99999999/" in page  # the path asked for, escaped by the template

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(Project.objects, "order_by", broken)
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 500 and "<h1>Something went wrong</h1>" in page and "frontend/raf.css" in page
    assert "a bug" not in page and "Traceback" not in page

"""Swagger UI and ReDoc are served from this site's static files, never from a CDN, and load no fonts from elsewhere."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_it_serves_the_api_docs_without_another_site(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    # No address of another site anywhere in the page: no script, style sheet or font (a plain
    # "cdn" test failed now and then on the page's random CSRF token).
    assert not re.search(r"(?:https?:)?//[\w-]+\.[\w.-]+", html, re.IGNORECASE), re.findall(r"//[\w.-]+", html)
    assert not re.search(r"""src\s*=\s*["'](?:https?:)?//""", html, re.IGNORECASE)
    # ReDoc's bundle itself asks for its logo on another site: the page's policy forbids the
    # browser every other site (checked in chromium: the request is refused with "csp").
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src", "worker-src"):
        assert not re.search(r"https?:|\*", policy[directive]), (directive, policy[directive])
    scripts = re.findall(r'src="([^"]+\.js)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    for src in scripts:
        assert finders.find(src.removeprefix("/static/")), src

"""Production serves the pages' CSS and JS itself (WhiteNoise), from `collectstatic`'s output."""

from __future__ import annotations

from django.core.management import call_command
from django.test import Client, override_settings


def test_it_serves_collected_static_files_with_debug_off(tmp_path) -> None:
    with override_settings(STATIC_ROOT=tmp_path, DEBUG=False, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", "--noinput", verbosity=0)
        response = Client().get("/static/frontend/raf.css")
        assert response.status_code == 200
        assert b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert Client().get("/static/frontend/no-such-file.css").status_code == 404

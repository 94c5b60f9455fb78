"""Development defaults an attacker could use: a shipped SECRET_KEY that mints export links,
and /media/ serving stored files (export zips) to anyone who guesses a name."""

from __future__ import annotations

import importlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import clear_url_caches

from annotation.models import DatasetExport, ReliabilityRun
from config.settings.base import DEFAULT_SECRET_KEY
from tests.annotation.factories import make_project, make_user

ROOT = Path(__file__).resolve().parent.parent.parent


def _key_in_fresh_interpreter(key_file: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "RAF_ENV")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", RAF_SECRET_KEY_FILE=str(key_file))
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_each_install_generates_its_own_secret_key(tmp_path) -> None:
    first = _key_in_fresh_interpreter(tmp_path / "a" / "secret_key")
    assert first != DEFAULT_SECRET_KEY and len(first) >= 50
    assert (tmp_path / "a" / "secret_key").read_text().strip() == first
    assert stat.S_IMODE((tmp_path / "a" / "secret_key").stat().st_mode) == 0o600
    assert _key_in_fresh_interpreter(tmp_path / "a" / "secret_key") == first  # kept across restarts
    assert _key_in_fresh_interpreter(tmp_path / "b" / "secret_key") != first  # another install


@pytest.mark.django_db
def test_an_export_link_minted_with_the_shipped_key_is_refused() -> None:
    project = make_project()
    run = ReliabilityRun.objects.create(project=project, succeeded=True)
    export = DatasetExport.objects.create(project=project, run=run, created_by=make_user("researcher"))
    export.file.save("raf-export.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    forged = signing.TimestampSigner(key=DEFAULT_SECRET_KEY, salt="raf.exports.download").sign(str(export.pk))
    response = Client().get(f"/api/v1/exports/download/{forged}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "link_invalid"


@pytest.mark.django_db
def test_media_files_are_not_served_even_with_debug_on(settings) -> None:
    import config.urls

    name = "exports/raf-export-1.zip"
    (settings.MEDIA_ROOT / "exports").mkdir(parents=True)
    (settings.MEDIA_ROOT / name).write_bytes(b"PK secret votes")
    settings.DEBUG = True
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        response = Client().get(f"/media/{name}")
        assert response.status_code == 404
        assert b"secret votes" not in b"".join(getattr(response, "streaming_content", [response.content]))
    finally:
        settings.DEBUG = False
        importlib.reload(config.urls)
        clear_url_caches()

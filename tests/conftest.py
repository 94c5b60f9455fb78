from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):  # noqa: F811 - pytest-django's settings fixture
    """Every test writes files under its own temporary media root."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Tests create many accounts; a fast hasher keeps them quick (never in production)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_in_process(settings):
    """Tasks run in-process in tests; the one test of a real worker on Redis turns this off."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture(autouse=True)
def _no_abuse_limits(settings):
    """Tests vote and claim as fast as a machine can; the tests of those limits turn them on."""
    settings.RAF_MIN_VOTE_MS = 0
    settings.RAF_VOTE_RATE = ""
    settings.RAF_CLAIM_RATE = ""
    settings.RAF_SIGNUP_RATE = ""

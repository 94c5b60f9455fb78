from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _uncached_remaining(monkeypatch):
    """Tests read the project's "remaining" count fresh instead of the few-seconds cache."""
    monkeypatch.setattr("annotation.services.progress.REMAINING_CACHE_S", 0)


@pytest.fixture(autouse=True)
def _release_on_every_claim(monkeypatch):
    """Claims release expired reservations at once (in production at most once a second)."""
    monkeypatch.setattr("annotation.services.assignment.RELEASE_EVERY_S", 0.0)


@pytest.fixture(autouse=True)
def _uncached_qualification(monkeypatch):
    monkeypatch.setattr("annotation.services.assignment.QUALIFIED_CACHE_S", 0)

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _uncached_remaining(monkeypatch):
    """Tests read the project's "remaining" count fresh instead of the few-seconds cache."""
    monkeypatch.setattr("annotation.selectors.progress.REMAINING_CACHE_S", 0)

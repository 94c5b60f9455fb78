from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    """Rate counts live in Redis, keyed by user id and address: a test database made again
    reuses ids, so counts left by an earlier run in the same window are dropped first."""
    client = cache._cache.get_client(write=True)
    for pattern in ("*raf:rate:*", "*throttle_*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)

"""Rate limits outside DRF's per-view settings, kept in Django's cache (Redis when
``REDIS_URL`` is set, so every web process shares the counts)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

DEFAULT_STUDY_ENTRY_RATE = "30/min"


class StudyEntryThrottle(SimpleRateThrottle):
    """Arrivals through study entry URLs, per client address (``RAF_STUDY_ENTRY_RATE``,
    e.g. ``30/min``): an entry creates an account, and a guessed participant id resumes one.

    Works on a plain Django request as on a DRF one (it reads only ``META`` and ``user``)."""

    scope = "study_entry"

    def get_rate(self) -> str:
        return str(getattr(settings, "RAF_STUDY_ENTRY_RATE", DEFAULT_STUDY_ENTRY_RATE))

    def get_cache_key(self, request, view) -> str:  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"120/min"`` -> ``(120, 60)``: requests allowed per window of seconds (DRF's syntax:
    s, m, h, d by their first letter). ``"0/..."`` or an empty rate turns the limit off."""
    if not rate:
        return 0, 1
    count, period = rate.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0]]


class UserRateLimit(BaseThrottle):
    """Requests per authenticated user, counted in Redis with one round trip per request
    (``INCRBY`` of this window's counter, ``EXPIRE``, ``GET`` of the previous window's,
    pipelined), whatever the history: the vote path pays one Redis round trip for it.

    A sliding-window estimate: the previous window's count weighs by the share of it still
    inside the last ``window`` seconds, so a burst across a window boundary is not allowed twice
    the rate (a plain fixed window let 80 votes through in 26 seconds at 60 a minute). DRF's
    ``UserRateThrottle`` keeps a list of timestamps per user and reads then writes it (two round
    trips, and a read-modify-write race between web processes). The rate comes from the setting
    named by ``rate_setting`` (``"60/min"``)."""

    scope = ""
    rate_setting = ""

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit, window = parse_rate(str(getattr(settings, self.rate_setting)))
        if limit <= 0 or not request.user or not request.user.is_authenticated:
            return True
        now = time.time()
        slot = int(now // window)
        prefix = f"raf:rate:{self.scope}:{request.user.pk}"
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incrby(f"{prefix}:{slot}", 1)
        pipeline.expire(f"{prefix}:{slot}", 2 * window + 1)
        pipeline.get(f"{prefix}:{slot - 1}")
        current, _, previous = pipeline.execute()
        elapsed = now / window - slot  # share of this window gone, 0..1
        estimate = int(previous or 0) * (1 - elapsed) + int(current)
        self.wait_s = (1 - elapsed) * window
        return estimate <= limit

    def wait(self) -> float | None:
        return getattr(self, "wait_s", None)


_client = None


def _redis():  # type: ignore[no-untyped-def]
    """This process's client on the cache's Redis (the counters are plain Redis keys). Django
    builds a client object on every cache call; the limit on the vote path keeps one."""
    global _client
    if _client is None:
        _client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    return _client


class VoteRateLimit(UserRateLimit):
    """Votes per annotator (``RAF_VOTE_RATE``)."""

    scope = "vote"
    rate_setting = "RAF_VOTE_RATE"


class ClaimRateLimit(UserRateLimit):
    """Claims per annotator (``RAF_CLAIM_RATE``)."""

    scope = "claim"
    rate_setting = "RAF_CLAIM_RATE"


class AddressRateThrottle(SimpleRateThrottle):
    """Requests per client address (DRF's ``get_ident``: ``NUM_PROXIES`` is
    ``RAF_TRUSTED_PROXIES``); the rate from the setting named by ``rate_setting``. Works on a
    plain Django request as on a DRF one."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        return str(getattr(settings, self.rate_setting)) or None  # empty: no limit

    def get_cache_key(self, request, view) -> str:  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(AddressRateThrottle):
    """``POST /api/v1/auth/token`` per client address (``RAF_TOKEN_RATE``), on top of the lockout."""

    scope = "auth_token"
    rate_setting = "RAF_TOKEN_RATE"


class SignupThrottle(AddressRateThrottle):
    """Sign-ups per client address (``RAF_SIGNUP_RATE``): each makes an account."""

    scope = "signup"
    rate_setting = "RAF_SIGNUP_RATE"

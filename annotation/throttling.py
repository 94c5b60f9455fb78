"""Rate limits outside DRF's per-view settings, kept in Django's cache (Redis when
``REDIS_URL`` is set, so every web process shares the counts)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

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

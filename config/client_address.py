"""The client address that lockouts and rate limits count."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The address the outermost of ``RAF_TRUSTED_PROXIES`` proxies saw, the same rule as DRF's
    ``NUM_PROXIES``: with 0 proxies the socket's peer (``X-Forwarded-For`` is ignored, so a
    forged header changes nothing); with N, the N-th ``X-Forwarded-For`` entry from the right
    (the one the first trusted proxy appended); entries further left are the client's word."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.RAF_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    return entries[-min(proxies, len(entries))] if entries else remote

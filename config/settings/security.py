"""Production refuses to start with DEBUG on, a weak or default SECRET_KEY, no or wildcard
ALLOWED_HOSTS, or no DATABASE_URL / REDIS_URL (production never starts the embedded servers).

HTTPS (HSTS, the redirect, secure cookies) is on in production and each part can be set from
the environment; ``manage.py check --deploy`` is clean with the production environment of
docs/security.md."""

from __future__ import annotations

import math
from collections import Counter

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str
from config.settings.base import ALLOWED_HOSTS, DEBUG, DEFAULT_SECRET_KEY, RAF_ENV, SECRET_KEY

# A key must carry at least this many bits by the estimate of secret_key_bits.
MIN_SECRET_KEY_BITS = 128
MIN_SECRET_KEY_LENGTH = 32


def secret_key_bits(key: str) -> float:
    """A cheap upper estimate of a key's entropy: its length times the Shannon entropy of its
    own character frequencies. 32 times ``a`` has 0 bits; ``secrets.token_urlsafe(50)`` about
    370."""
    if not key:
        return 0.0
    counts = Counter(key)
    return -sum(n * math.log2(n / len(key)) for n in counts.values())


def check_production_settings(
    *, debug: bool, secret_key: str, allowed_hosts: list[str], database_url: str = "x", redis_url: str = "x"
) -> None:
    problems = []
    if not database_url:
        problems.append("DATABASE_URL must be set")
    if not redis_url:
        problems.append("REDIS_URL must be set")
    if debug:
        problems.append("DEBUG must be off")
    if (
        not secret_key
        or secret_key == DEFAULT_SECRET_KEY
        or secret_key.startswith("django-insecure")
        or len(secret_key) < MIN_SECRET_KEY_LENGTH
        or secret_key_bits(secret_key) < MIN_SECRET_KEY_BITS
    ):
        problems.append(
            f"SECRET_KEY must be set to a private random value of at least {MIN_SECRET_KEY_LENGTH} characters "
            f"(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS must not be empty")
    if any("*" in host for host in allowed_hosts):
        problems.append("ALLOWED_HOSTS must name the hosts: no '*'")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))


if RAF_ENV == "production":
    check_production_settings(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        database_url=env_str("DATABASE_URL"),
        redis_url=env_str("REDIS_URL"),
    )
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_SSL_REDIRECT = env_bool("RAF_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("RAF_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("RAF_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("RAF_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment made per domain (a submission to the browsers' lists), not a
        # default an application can make; W021 only says it is off.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_HTTPONLY = True

"""Production refuses to start with DEBUG on, a default SECRET_KEY, no ALLOWED_HOSTS, or no
DATABASE_URL / REDIS_URL (production never starts the embedded servers)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_str
from config.settings.base import ALLOWED_HOSTS, DEBUG, DEFAULT_SECRET_KEY, RAF_ENV, SECRET_KEY


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
    if not secret_key or secret_key == DEFAULT_SECRET_KEY or len(secret_key) < 32:
        problems.append("SECRET_KEY must be set to a private value of at least 32 characters")
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS must not be empty")
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

"""Production refuses to start with DEBUG on, a default SECRET_KEY or no ALLOWED_HOSTS."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool
from config.settings.base import ALLOWED_HOSTS, DEBUG, DEFAULT_SECRET_KEY, RAF_ENV, SECRET_KEY


def check_production_settings(*, debug: bool, secret_key: str, allowed_hosts: list[str]) -> None:
    problems = []
    if debug:
        problems.append("DEBUG must be off")
    if not secret_key or secret_key == DEFAULT_SECRET_KEY or len(secret_key) < 32:
        problems.append("SECRET_KEY must be set to a private value of at least 32 characters")
    if not allowed_hosts:
        problems.append("ALLOWED_HOSTS must not be empty")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))


if RAF_ENV == "production":
    check_production_settings(debug=DEBUG, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True

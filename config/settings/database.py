from __future__ import annotations

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_str
from config.settings.base import RAF_ENV

# PostgreSQL everywhere: DATABASE_URL in CI and production; without it (a laptop, `make run`,
# `make test`), the embedded server of config.embedded. There is no other database engine.
_url = env_str("DATABASE_URL")
if not _url:
    if RAF_ENV == "production":
        raise ImproperlyConfigured("Refusing to start in production: DATABASE_URL must be set.")
    from config.embedded import database_url

    _url = database_url()

DATABASES = {
    "default": dj_database_url.parse(_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
}
# Django turns psycopg's prepared statements off (prepare_threshold None) for the sake of
# connection poolers, and psycopg then ignores ``prepare=True`` too. The vote path's few
# hand-written statements (annotation.sql.fetch_prepared) ask for it explicitly: parsing and
# planning them cost Postgres more CPU than running them. Django's own queries use client-side
# binding cursors, which never prepare, so nothing else is prepared. A pooler in front of
# Postgres must keep sessions (or support protocol-level prepared statements).
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1_000_000
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")

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
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")

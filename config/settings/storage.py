from __future__ import annotations

from pathlib import Path

from config.env import env_bool, env_int, env_str
from config.settings.base import BASE_DIR, RAF_ENV

MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Files always go through Django's storage API: local disk by default, an S3-compatible
# store when RAF_S3_BUCKET is set (django-storages), so web and workers share no local state.
_S3_BUCKET = env_str("RAF_S3_BUCKET")
STORAGES = {
    "default": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": _S3_BUCKET,
                "endpoint_url": env_str("RAF_S3_ENDPOINT_URL") or None,
                "access_key": env_str("RAF_S3_ACCESS_KEY") or None,
                "secret_key": env_str("RAF_S3_SECRET_KEY") or None,
                "querystring_expire": 3600,
            },
        }
        if _S3_BUCKET
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Import limits (bad input is rejected before it touches storage).
RAF_MAX_IMAGE_BYTES = env_int("RAF_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
RAF_MAX_IMAGE_PIXELS = env_int("RAF_MAX_IMAGE_PIXELS", 40_000_000)
RAF_DOWNLOAD_TIMEOUT_S = env_int("RAF_DOWNLOAD_TIMEOUT_S", 20)
RAF_DOWNLOAD_CONCURRENCY = env_int("RAF_DOWNLOAD_CONCURRENCY", 8)
RAF_DOWNLOAD_RETRIES = env_int("RAF_DOWNLOAD_RETRIES", 3)
# URL imports may reach loopback/private/link-local hosts only when allowed (off in production,
# so an import cannot probe the platform's own network or a cloud metadata endpoint).
RAF_DOWNLOAD_ALLOW_PRIVATE = env_bool("RAF_DOWNLOAD_ALLOW_PRIVATE", RAF_ENV != "production")

# Exports: download links (signed tokens, or presigned URLs on S3) expire after this long.
RAF_EXPORT_LINK_TTL_S = env_int("RAF_EXPORT_LINK_TTL_S", 3600)

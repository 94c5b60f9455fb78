from __future__ import annotations

from config.env import env_int

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "annotation.apis.authentication.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "annotation.apis.schema.ViewNamedAutoSchema",
    "EXCEPTION_HANDLER": "annotation.apis.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "annotation.apis.pagination.Pagination",
    "PAGE_SIZE": 100,
    # JSON only (the pages and scripts send JSON; the upload endpoints name their own parsers).
    # Bodies nested past Python's recursion limit are a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": ["annotation.apis.parsers.JSONParser"],
    # The client address throttles count (X-Forwarded-For entries appended by trusted proxies).
    "NUM_PROXIES": env_int("RAF_TRUSTED_PROXIES", 0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RAF API",
    "DESCRIPTION": "Crowd votes on face photos into a reliable facial-expression dataset.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc come from drf-spectacular-sidecar's static files, so /api/docs/ and
    # /api/redoc/ work without internet access (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # config.path_converters: ids are integers a bigint holds.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "annotation.models.job.JobStatus",
        "ImageStatusEnum": "annotation.models.image.ImageStatus",
        "AssignmentStatusEnum": "annotation.models.assignment.AssignmentStatus",
    },
}

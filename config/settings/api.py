from __future__ import annotations

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "annotation.apis.authentication.CachedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "annotation.apis.schema.ViewNamedAutoSchema",
    "EXCEPTION_HANDLER": "annotation.apis.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
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
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "annotation.models.job.JobStatus",
        "ImageStatusEnum": "annotation.models.image.ImageStatus",
        "AssignmentStatusEnum": "annotation.models.assignment.AssignmentStatus",
    },
}

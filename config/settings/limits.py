"""Abuse limits: login lockouts, request rates, body sizes, and which client address they count.

Every value comes from the environment; docs/security.md lists each protection and its
setting."""

from __future__ import annotations

from datetime import timedelta

from config.env import env_int, env_str

# How many reverse proxies in front of the web server append to X-Forwarded-For. The client address
# every limit counts is the one the outermost trusted proxy saw; with 0 (the default) it is the
# socket's peer and X-Forwarded-For is ignored, so a forged header buys nothing.
RAF_TRUSTED_PROXIES = env_int("RAF_TRUSTED_PROXIES", 0)

# Login lockout (django-axes) on /login/, /admin/login/ and POST /api/v1/auth/token: after
# RAF_LOGIN_FAILURE_LIMIT failures for one username, or from one client address, further
# attempts are refused (429) for RAF_LOGIN_COOLOFF_MIN minutes, the right password included.
# Admins see and delete lockouts in the admin ("Axes: access attempts") or with
# `manage.py axes_reset_username <name>` / `axes_reset_ip <address>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("RAF_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("RAF_LOGIN_COOLOFF_MIN", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "frontend/locked_out.html"
AXES_VERBOSE = False

# Per-user request rates (annotation.throttling.UserRateLimit: one Redis round trip per request).
# A person labels a face in a second or more; 60 a minute leaves room for quick ones and stops
# a script's burst after a minute's worth. An empty value turns a limit off.
RAF_CLAIM_RATE = env_str("RAF_CLAIM_RATE", "60/min")
RAF_VOTE_RATE = env_str("RAF_VOTE_RATE", "60/min")
# The least time between claiming an image and voting on it, for projects that set none
# (Project.min_vote_ms); a quicker vote is refused (429 too_fast).
RAF_MIN_VOTE_MS = env_int("RAF_MIN_VOTE_MS", 300)
# Sign-ups per client address (frontend signup page).
RAF_SIGNUP_RATE = env_str("RAF_SIGNUP_RATE", "10/hour")
# The token endpoint, per client address, on top of the lockout.
RAF_TOKEN_RATE = env_str("RAF_TOKEN_RATE", "30/min")

# Request bodies: every endpoint takes at most RAF_MAX_BODY_BYTES; the import endpoints take up
# to RAF_MAX_UPLOAD_BYTES of multipart upload, streamed to temporary files on disk past
# FILE_UPLOAD_MAX_MEMORY_SIZE (config.body_limits).
RAF_MAX_BODY_BYTES = env_int("RAF_MAX_BODY_BYTES", 2 * 1024 * 1024)
RAF_MAX_UPLOAD_BYTES = env_int("RAF_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = RAF_MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# List endpoints: ?limit= above this is cut to it, ?offset= past a bigint is refused.
RAF_MAX_PAGE_SIZE = env_int("RAF_MAX_PAGE_SIZE", 1000)

"""WSGI entry point (gunicorn ``config.wsgi``): Django, with the vote fast path in front."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from annotation.apis.vote_fast_path import VoteFastPath  # noqa: E402 - needs Django set up

application = VoteFastPath(django_application)

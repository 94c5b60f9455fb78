"""WSGI entry point (gunicorn ``config.wsgi``): Django, with the vote fast path in front."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from annotation.apis.vote_fast_path import VoteFastPath  # noqa: E402 - needs Django set up

application = VoteFastPath(django_application)

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: kept
# out of the garbage collector's full collections, which otherwise walk all of it now and then
# and stall every thread of the worker for tens of milliseconds (the vote latency's tail). With
# gunicorn --preload this runs once in the master, before the workers fork.
gc.freeze()

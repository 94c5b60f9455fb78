"""WSGI entry point (``granian --interface wsgi config.wsgi:application``)."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load now what Django and DRF otherwise load on the first request in every worker process (the
# URLconf with every view module): about a second of CPU per worker that would land on the first
# annotators' requests.
get_resolver().reverse_dict  # noqa: B018 - builds the URL resolver

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: kept
# out of the garbage collector's full collections, which otherwise walk all of it now and then
# and stall every thread of the worker for tens of milliseconds (the vote latency's tail). Each
# granian worker process imports this module, so it runs once per worker.
gc.freeze()

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_str
from config.settings.base import RAF_ENV

# Redis is the broker and the cache everywhere: REDIS_URL in CI and production; without it,
# the embedded server of config.embedded. Jobs never run inside a request.
REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    if RAF_ENV == "production":
        raise ImproperlyConfigured("Refusing to start in production: REDIS_URL must be set.")
    from config.embedded import redis_url

    REDIS_URL = redis_url()
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"annotation.tasks.training_*": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Periodic tasks (run a beat: `celery -A config beat`, or a worker with `-B`).
CELERY_BEAT_SCHEDULE = {
    "release-expired-reservations": {
        "task": "annotation.tasks.assignments_release_expired",
        "schedule": env_int("RAF_RELEASE_EXPIRED_EVERY_S", 60),
    },
}

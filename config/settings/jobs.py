from __future__ import annotations

from config.env import env_int, env_str

REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# Without a broker, tasks run in-process (the embedded default of `make run`).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
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

CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

# Periodic tasks (run a beat: `celery -A config beat`, or a worker with `-B`).
CELERY_BEAT_SCHEDULE = {
    "release-expired-reservations": {
        "task": "annotation.tasks.assignments_release_expired",
        "schedule": env_int("RAF_RELEASE_EXPIRED_EVERY_S", 60),
    },
    # Live reliability, spammer flags and adaptive retirement (issue 14); a project is updated
    # when it has RAF_LIVE_EVERY_VOTES new counted votes, or any new vote and
    # RAF_LIVE_EVERY_S since its last update.
    "live-reliability": {
        "task": "annotation.tasks.live_reliability_update",
        "schedule": env_int("RAF_LIVE_CHECK_EVERY_S", 30),
    },
}
RAF_LIVE_EVERY_VOTES = env_int("RAF_LIVE_EVERY_VOTES", 2000)
RAF_LIVE_EVERY_S = env_int("RAF_LIVE_EVERY_S", 300)

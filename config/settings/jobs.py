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
# The broker redelivers an unacknowledged message after this long. Which worker runs a job is
# decided by the job's lease, not by the broker (annotation.services.jobs): a redelivered
# message for a job that runs elsewhere under a live lease is dropped, and a job whose worker
# died is sent again by the recovery task within about RAF_JOB_LEASE_S + RAF_JOB_RECOVER_EVERY_S.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)}

# Job leases: a running job's worker renews its heartbeat every RAF_JOB_HEARTBEAT_S; a job whose
# heartbeat is older than RAF_JOB_LEASE_S has lost its worker and is sent again, at most
# RAF_JOB_MAX_ATTEMPTS runs in all, then failed with a message that says so.
RAF_JOB_HEARTBEAT_S = env_int("RAF_JOB_HEARTBEAT_S", 10)
RAF_JOB_LEASE_S = env_int("RAF_JOB_LEASE_S", 60)
RAF_JOB_MAX_ATTEMPTS = env_int("RAF_JOB_MAX_ATTEMPTS", 3)
RAF_JOB_RECOVER_EVERY_S = env_int("RAF_JOB_RECOVER_EVERY_S", 20)

CACHES = {"default": {"BACKEND": "config.cache.ReusingRedisCache", "LOCATION": REDIS_URL}}

# Periodic tasks (run a beat: `celery -A config beat`, or a worker with `-B`).
CELERY_BEAT_SCHEDULE = {
    "release-expired-reservations": {
        "task": "annotation.tasks.assignments_release_expired",
        "schedule": env_int("RAF_RELEASE_EXPIRED_EVERY_S", 60),
    },
    "jobs-recover-stale": {
        "task": "annotation.tasks.jobs_recover_stale",
        "schedule": RAF_JOB_RECOVER_EVERY_S,
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

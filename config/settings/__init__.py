"""RAF settings, split by topic; every value comes from the environment.

Defaults serve development: the embedded Postgres and Redis of :mod:`config.embedded` when
``DATABASE_URL`` / ``REDIS_URL`` are unset, local media. ``RAF_ENV=production`` turns on the
checks in :mod:`config.settings.security` (first, so that they speak before anything starts).
"""

from config.settings.security import *  # noqa: F401,F403, I001 - the checks come first
from config.settings.api import *  # noqa: F401,F403
from config.settings.base import *  # noqa: F401,F403
from config.settings.database import *  # noqa: F401,F403
from config.settings.jobs import *  # noqa: F401,F403
from config.settings.limits import *  # noqa: F401,F403
from config.settings.storage import *  # noqa: F401,F403

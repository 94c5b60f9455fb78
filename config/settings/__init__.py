"""RAF settings, split by topic; every value comes from the environment.

Defaults serve development: SQLite, in-process jobs, local media. ``RAF_ENV=production``
turns on the checks in :mod:`config.settings.security`.
"""

from config.settings.api import *  # noqa: F401,F403
from config.settings.base import *  # noqa: F401,F403
from config.settings.database import *  # noqa: F401,F403
from config.settings.jobs import *  # noqa: F401,F403
from config.settings.security import *  # noqa: F401,F403
from config.settings.storage import *  # noqa: F401,F403

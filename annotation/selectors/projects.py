"""Project reads for the hot path."""

from __future__ import annotations

import threading
import time

from annotation.models import Project

# How long a process reuses a project row it read for the vote hot path (its gold rate,
# reservation timeout, classes). An edit reaches the hot path within this many seconds.
PROJECT_CACHE_S = 5.0
# At most this many projects are kept per process (the least recently read goes first).
PROJECT_CACHE_SIZE = 64
_projects: dict[int, tuple[float, Project]] = {}
_lock = threading.Lock()


def project_get_cached(*, project_id: int) -> Project:
    """The project ``project_id``, read from the database at most every ``PROJECT_CACHE_S``
    seconds per process. Callers only read it (it is shared between threads)."""
    now = time.monotonic()
    hit = _projects.get(project_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    project = Project.objects.get(pk=project_id)
    with _lock:
        _projects.pop(project_id, None)
        _projects[project_id] = (now + PROJECT_CACHE_S, project)
        while len(_projects) > PROJECT_CACHE_SIZE:
            _projects.pop(next(iter(_projects)))
    return project

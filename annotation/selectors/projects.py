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


# The home page's progress figures scan each project's images: shared for a little while.
PROGRESS_CACHE_S = 30


def projects_progress(*, project_ids: list[int]) -> dict[int, dict[str, float | int]]:
    """Per project: ``images`` (ready, regular), ``votes`` (counted) and ``wanted`` on them,
    and ``share`` (votes / wanted, 0..1). Cached for ``PROGRESS_CACHE_S`` seconds."""
    from django.core.cache import cache
    from django.db.models import Count, Sum

    from annotation.models import Image, ImageStatus

    key = "raf:projects-progress:" + ",".join(map(str, sorted(project_ids)))
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        Image.objects.filter(project_id__in=project_ids, status=ImageStatus.READY, is_gold=False)
        .values("project_id")
        .annotate(images=Count("id"), votes=Sum("counted_votes"), wanted=Sum("votes_wanted"))
        .order_by()
    )
    result = {
        row["project_id"]: {
            "images": row["images"],
            "votes": row["votes"] or 0,
            "wanted": row["wanted"] or 0,
            "share": min(1.0, (row["votes"] or 0) / row["wanted"]) if row["wanted"] else 0.0,
        }
        for row in rows
    }
    cache.set(key, result, PROGRESS_CACHE_S)
    return result

"""Reads about annotation progress."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.utils import timezone

from annotation.models import Image, ImageStatus, Project
from annotation.sql import fetch_prepared

# The project-wide "remaining" count scans the project's images, so it is shared through the
# cache for a few seconds instead of being recounted on every vote.
REMAINING_CACHE_S = 5


@dataclass(frozen=True)
class Progress:
    today: int
    total: int
    remaining: int
    finished: bool


def annotator_progress(*, annotator: AbstractBaseUser, project: Project) -> Progress:
    """The annotator's votes in ``project`` today (server day) and in total, and how many
    images of the project still need votes (``remaining``, refreshed every few seconds)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    # Every vote answer carries progress: the aggregate is written out (compiling the ORM
    # query cost more CPU than running it). Same query as
    # Vote.objects.filter(annotator=, image__project=).aggregate(total=Count, today=Count(filter=)).
    if connection.vendor == "postgresql":
        params = {"midnight": midnight, "annotator": annotator.pk, "project": project.pk}
        [(today, total)] = fetch_prepared(_COUNT_VOTES_PG_SQL, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                _COUNT_VOTES_SQL, [connection.ops.adapt_datetimefield_value(midnight), annotator.pk, project.pk]
            )
            today, total = cursor.fetchone()
    remaining = project_remaining(project=project)
    return Progress(today=today or 0, total=total, remaining=remaining, finished=remaining == 0)


_COUNT_VOTES_SQL = """
    SELECT SUM(CASE WHEN v.created_at >= %s THEN 1 ELSE 0 END), COUNT(*)
    FROM annotation_vote v INNER JOIN annotation_image i ON i.id = v.image_id
    WHERE v.annotator_id = %s AND i.project_id = %s
"""
_COUNT_VOTES_PG_SQL = """
    SELECT count(*) FILTER (WHERE v.created_at >= %(midnight)s::timestamptz), count(*)
    FROM annotation_vote v INNER JOIN annotation_image i ON i.id = v.image_id
    WHERE v.annotator_id = %(annotator)s::integer AND i.project_id = %(project)s::bigint
"""


def project_remaining(*, project: Project) -> int:
    """Ready images of ``project`` that still need votes (counted + reserved < wanted)."""
    if not REMAINING_CACHE_S:
        return _count_remaining(project)
    # created_at in the key: a recreated project with a reused id never reads a stale count.
    key = f"raf:remaining:{project.pk}:{project.created_at.timestamp()}"
    remaining = cache.get(key)
    if remaining is None:
        remaining = _count_remaining(project)
        cache.set(key, remaining, REMAINING_CACHE_S)
    return remaining


def _count_remaining(project: Project) -> int:
    return (
        Image.objects.filter(project=project, status=ImageStatus.READY, is_gold=False)
        .filter(counted_votes__lt=F("votes_wanted") - F("reserved"))
        .count()
    )

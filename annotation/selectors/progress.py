"""Reads about annotation progress."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone

from annotation.models import Image, ImageStatus, Project, Vote

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
    counts = Vote.objects.filter(annotator=annotator, image__project=project).aggregate(
        total=Count("id"), today=Count("id", filter=Q(created_at__gte=midnight))
    )
    remaining = project_remaining(project=project)
    return Progress(today=counts["today"], total=counts["total"], remaining=remaining, finished=remaining == 0)


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

"""Annotation progress: the annotator's vote counts (rolling the counters' day on its first read of a
day, a write, hence a service) and the project's remaining images."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import Image, ImageStatus, Project, Qualification
from annotation.models.assignment import AssignmentStatus
from annotation.sql import fetch_prepared

# The project-wide "remaining" count scans the project's images, so each process keeps it for a
# few seconds instead of recounting it on every vote (no cache round trip on the vote path).
REMAINING_CACHE_S = 5
_remaining: TTLCache[tuple[int, float], int] = TTLCache(maxsize=1024, ttl=REMAINING_CACHE_S)
# "Left for you" per (annotator, project), with the annotator's vote count when it was counted.
_left: TTLCache[tuple[int, int, float], tuple[int, int]] = TTLCache(maxsize=8192, ttl=REMAINING_CACHE_S)
_remaining_lock = threading.Lock()


@dataclass(frozen=True)
class Progress:
    today: int
    total: int
    remaining: int
    finished: bool


def annotator_progress(*, annotator: AbstractBaseUser, project: Project) -> Progress:
    """The annotator's votes in ``project`` today (server day) and in total, and how many
    images are left for them (``remaining``: :func:`annotator_remaining`)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today, total = annotator_vote_counts(annotator_id=annotator.pk, project_id=project.pk, midnight=midnight)
    remaining = annotator_remaining(annotator_id=annotator.pk, project=project, total=total)
    return Progress(today=today, total=total, remaining=remaining, finished=remaining == 0)


def annotator_vote_counts(*, annotator_id: int, project_id: int, midnight: datetime) -> tuple[int, int]:
    """``(votes since midnight, votes in total)`` of an annotator in a project, read from the
    counters the database keeps on the qualification (migration 0006), so the cost does not grow
    with the annotator's history. The first read of a day moves the counters' day to
    ``midnight`` (counting the votes before it, once); with no qualification, votes are counted."""
    row = (
        Qualification.objects.filter(annotator_id=annotator_id, project_id=project_id)
        .values_list("votes_total", "day_start", "votes_before_day")
        .first()
    )
    if row is None:
        return _count_votes(annotator_id=annotator_id, project_id=project_id, midnight=midnight)
    total, day_start, before = row
    if day_start != midnight:
        total, before = _start_the_day(annotator_id=annotator_id, project_id=project_id, midnight=midnight)
    return total - before, total


def _start_the_day(*, annotator_id: int, project_id: int, midnight: datetime) -> tuple[int, int]:
    with transaction.atomic():
        # Locked first: a vote written meanwhile waits (its trigger updates this row), so the
        # count below and the triggers that follow agree on which votes are before the day.
        qualification = (
            Qualification.objects.select_for_update()
            .only("votes_total", "day_start", "votes_before_day")
            .get(annotator_id=annotator_id, project_id=project_id)
        )
        if qualification.day_start != midnight:
            today, total = _count_votes(annotator_id=annotator_id, project_id=project_id, midnight=midnight)
            qualification.day_start = midnight
            qualification.votes_before_day = total - today
            qualification.save(update_fields=["day_start", "votes_before_day"])
    return qualification.votes_total, qualification.votes_before_day


def _count_votes(*, annotator_id: int, project_id: int, midnight: datetime) -> tuple[int, int]:
    # Same query as Vote.objects.filter(annotator=, image__project=).aggregate(Count, Count(filter=)),
    # written out (compiling the ORM query cost more CPU than running it).
    params = {"midnight": midnight, "annotator": annotator_id, "project": project_id}
    [(today, total)] = fetch_prepared(_COUNT_VOTES_PG_SQL, params)
    return today or 0, total


_COUNT_VOTES_PG_SQL = """
    SELECT count(*) FILTER (WHERE v.created_at >= %(midnight)s::timestamptz), count(*)
    FROM annotation_vote v INNER JOIN annotation_image i ON i.id = v.image_id
    WHERE v.annotator_id = %(annotator)s::integer AND i.project_id = %(project)s::bigint
"""


def annotator_remaining(*, annotator_id: int, project: Project, total: int) -> int:
    """Images "left for you": ready, regular images of ``project`` that still need votes and
    were never served to the annotator, plus those reserved for them now. Counted every
    ``REMAINING_CACHE_S`` seconds per annotator and process (a bounded memo, no cache round trip
    on the vote path); in between, each of the annotator's own votes (``total``, their vote count
    now) takes one off at once, so the number moves with every answer."""
    if not REMAINING_CACHE_S:
        return _count_left_for(annotator_id, project)
    key = (annotator_id, project.pk, project.created_at.timestamp())
    with _remaining_lock:
        cached = _left.get(key)
    if cached is None:
        cached = (_count_left_for(annotator_id, project), total)
        with _remaining_lock:
            _left[key] = cached
    left, total_then = cached
    return max(0, left - max(0, total - total_then))


def _count_left_for(annotator_id: int, project: Project) -> int:
    # An image is served to an annotator once (one assignment per annotator and image). What is
    # left: the project's images that still need votes, less those among them already served to
    # the annotator, plus their open reservations. Counted from the annotator's side (their
    # assignments), so the cost grows with their history, not with the project's size.
    params = {"annotator": annotator_id, "project": project.pk}
    [(served_needing, reserved)] = fetch_prepared(_COUNT_SERVED_PG_SQL, params)
    return max(0, project_remaining(project=project) - served_needing) + reserved


# The annotator's regular assignments in the project: those on images that still need votes
# (ready, counted + reserved < wanted), and those open now. One prepared statement (the ORM's
# two counts cost the web process ~3 ms of CPU to compile, every few seconds per annotator).
_COUNT_SERVED_PG_SQL = f"""
    SELECT count(*) FILTER (
               WHERE i.status = '{ImageStatus.READY.value}' AND i.counted_votes < i.votes_wanted - i.reserved
           ),
           count(*) FILTER (WHERE a.status = '{AssignmentStatus.OPEN.value}')
    FROM annotation_assignment a INNER JOIN annotation_image i ON i.id = a.image_id
    WHERE a.annotator_id = %(annotator)s::integer AND i.project_id = %(project)s::bigint AND NOT i.is_gold
"""


def project_remaining(*, project: Project) -> int:
    """Ready images of ``project`` that still need votes (counted + reserved < wanted), counted
    at most every ``REMAINING_CACHE_S`` seconds per process (a bounded memo)."""
    if not REMAINING_CACHE_S:
        return _count_remaining(project)
    # created_at in the key: a recreated project with a reused id never reads a stale count.
    key = (project.pk, project.created_at.timestamp())
    with _remaining_lock:
        remaining = _remaining.get(key)
    if remaining is None:
        remaining = _count_remaining(project)
        with _remaining_lock:
            _remaining[key] = remaining
    return remaining


def _count_remaining(project: Project) -> int:
    return (
        Image.objects.filter(project=project, status=ImageStatus.READY, is_gold=False)
        .filter(counted_votes__lt=F("votes_wanted") - F("reserved"))
        .count()
    )

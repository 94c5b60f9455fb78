"""Reads behind the project dashboard: image states, vote rates, annotators, jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from annotation.models import (
    AnnotatorReliability,
    Assignment,
    Image,
    ImageStatus,
    Job,
    Project,
    Qualification,
    ReliabilityRun,
    Vote,
)

ACTIVE_WINDOW = timedelta(minutes=10)
# The per-annotator table scans every vote of the project (about 2.5 s at 400,000 votes on the
# 2-core development machine), so the figures are shared through the cache for a while instead
# of being recomputed for every open dashboard and every poll.
DASHBOARD_CACHE_S = 20
MAX_ANNOTATOR_ROWS = 200


def images_by_status(*, project: Project) -> dict[str, int]:
    """Counts of non-gold images per status (every status present, zero when none), plus gold."""
    counts = dict(
        Image.objects.filter(project=project, is_gold=False)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    result = {status.value: counts.get(status.value, 0) for status in ImageStatus}
    result["gold"] = Image.objects.filter(project=project, is_gold=True).count()
    return result


def votes_collected(*, project: Project) -> dict[str, int]:
    """Counted votes against the votes wanted by images that can still be labelled or are done."""
    row = Image.objects.filter(
        project=project, is_gold=False, status__in=[ImageStatus.READY, ImageStatus.RETIRED]
    ).aggregate(collected=Sum("counted_votes"), wanted=Sum("votes_wanted"))
    return {"collected": row["collected"] or 0, "wanted": row["wanted"] or 0}


def votes_per_hour(*, project: Project, hours: int = 24) -> list[dict[str, Any]]:
    """Votes (all, gold included) per hour over the last ``hours`` hours, oldest first, zeros kept."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(hours=hours - 1)
    rows = (
        Vote.objects.filter(image__project=project, created_at__gte=start)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
    )
    by_hour = {row["hour"]: row["n"] for row in rows}
    return [
        {"hour": (start + timedelta(hours=i)).isoformat(), "votes": by_hour.get(start + timedelta(hours=i), 0)}
        for i in range(hours)
    ]


def annotators_active(*, project: Project) -> int:
    """Annotators who voted or claimed in the project within the last ten minutes."""
    since = timezone.now() - ACTIVE_WINDOW
    voters = set(
        Vote.objects.filter(image__project=project, created_at__gte=since).values_list("annotator_id", flat=True)
    )
    claimers = set(
        Assignment.objects.filter(image__project=project, created_at__gte=since).values_list("annotator_id", flat=True)
    )
    return len(voters | claimers)


def _median_times(project: Project, annotator_ids: list[int]) -> dict[int, float]:
    if not annotator_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.annotator_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY v.time_taken_ms) "
            "FROM annotation_vote v JOIN annotation_image i ON i.id = v.image_id "
            "WHERE i.project_id = %s AND v.annotator_id = ANY(%s) AND v.time_taken_ms IS NOT NULL "
            "GROUP BY v.annotator_id",
            [project.pk, annotator_ids],
        )
        return {row[0]: float(row[1]) for row in cursor.fetchall()}


def annotator_table(*, project: Project, limit: int = MAX_ANNOTATOR_ROWS) -> list[dict[str, Any]]:
    """Per annotator (most votes first): votes, counted votes, gold accuracy, median time per
    vote, and reliability from the project's current reliability run when there is one."""
    rows = list(
        Vote.objects.filter(image__project=project)
        .values("annotator_id")
        .annotate(votes=Count("id"), counted=Count("id", filter=Q(counted=True)))
        .order_by("-votes", "annotator_id")[:limit]
    )
    ids = [row["annotator_id"] for row in rows]
    names = dict(User.objects.filter(pk__in=ids).values_list("id", "username"))
    gold = {
        q.annotator_id: q
        for q in Qualification.objects.filter(project=project, annotator_id__in=ids).only(
            "annotator_id", "gold_seen", "gold_correct", "qualified_at"
        )
    }
    medians = _median_times(project, ids)
    run = ReliabilityRun.objects.filter(project=project, is_current=True).first()
    reliability = (
        {r.annotator_id: r for r in AnnotatorReliability.objects.filter(run=run, annotator_id__in=ids)} if run else {}
    )
    table = []
    for row in rows:
        annotator_id = row["annotator_id"]
        qualification = gold.get(annotator_id)
        estimate = reliability.get(annotator_id)
        table.append(
            {
                "annotator_id": annotator_id,
                "username": names.get(annotator_id, f"#{annotator_id}"),
                "votes": row["votes"],
                "counted": row["counted"],
                "gold_seen": qualification.gold_seen if qualification else 0,
                "gold_accuracy": qualification.gold_accuracy if qualification else None,
                "median_time_ms": medians.get(annotator_id),
                "reliability": estimate.reliability if estimate else None,
                "accuracy": estimate.accuracy if estimate else None,
                "kept": estimate.kept if estimate else None,
            }
        )
    return table


def recent_jobs(*, project: Project, limit: int = 10) -> list[dict[str, Any]]:
    return [
        {
            "id": job.pk,
            "kind": job.kind,
            "status": job.status,
            "progress": job.progress,
            "message": job.message,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        }
        for job in Job.objects.filter(project=project).order_by("-created_at")[:limit]
    ]


def recent_images(*, project: Project, limit: int = 12) -> list[dict[str, Any]]:
    """The images voted on most recently (newest first), for links to their pages."""
    ids: list[int] = []
    for image_id in (
        Vote.objects.filter(image__project=project).order_by("-id").values_list("image_id", flat=True)[: limit * 20]
    ):
        if image_id not in ids:
            ids.append(image_id)
        if len(ids) == limit:
            break
    images = Image.objects.in_bulk(ids)
    return [
        {
            "id": i,
            "status": images[i].status,
            "counted_votes": images[i].counted_votes,
            "votes_wanted": images[i].votes_wanted,
        }
        for i in ids
        if i in images
    ]


def live_reliability_info(*, project: Project) -> dict[str, Any] | None:
    """The last live update (issue 14): when it was computed and what it found, with the
    review queue's open flags; None before the first update."""
    from annotation.models import AnnotatorFlag, LiveReliability

    live = LiveReliability.objects.filter(project=project).defer("state").first()
    if live is None:
        return None
    return {
        "computed_at": live.computed_at.isoformat(),
        "votes": live.votes,
        "seconds": live.seconds,
        "annotators_kept": live.annotators_kept,
        "images_retired": live.images_retired,
        "flags_open": AnnotatorFlag.objects.filter(project=project, status__in=["flagged", "paused"]).count(),
        "allocation": project.allocation,
    }


def dashboard_stats(*, project: Project) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-ready values."""
    run = ReliabilityRun.objects.filter(project=project, is_current=True).first()
    run_info = {"id": run.pk, "method": run.method, "created_at": run.created_at.isoformat()} if run else None
    return {
        "project": {"id": project.pk, "name": project.name, "classes": project.classes},
        "images": images_by_status(project=project),
        "votes": votes_collected(project=project),
        "votes_per_hour": votes_per_hour(project=project),
        "annotators_active": annotators_active(project=project),
        "annotators": annotator_table(project=project),
        "reliability_run": run_info,
        "live_reliability": live_reliability_info(project=project),
        "jobs": recent_jobs(project=project),
        "recent_images": recent_images(project=project),
        "generated_at": timezone.now().isoformat(),
    }


def dashboard_stats_cached(*, project: Project, max_age_s: int = DASHBOARD_CACHE_S) -> dict[str, Any]:
    """:func:`dashboard_stats`, at most ``max_age_s`` seconds old (``generated_at`` says when)."""
    # created_at in the key: a project id reused after a rollback never gets another's figures.
    key = f"raf:dashboard:{project.pk}:{project.created_at.timestamp():.6f}"
    stats = cache.get(key)
    if stats is not None:
        # A new current reliability run shows at once (one indexed query), not after max_age_s.
        current = ReliabilityRun.objects.filter(project=project, is_current=True).values_list("pk", flat=True).first()
        if current != (stats["reliability_run"] or {}).get("id"):
            stats = None
    if stats is None:
        stats = dashboard_stats(project=project)
        cache.set(key, stats, max_age_s)
    return stats

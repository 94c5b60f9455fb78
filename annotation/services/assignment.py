"""Assignment: hand out images "randomly and equally".

An image is served while ``counted_votes + reserved < votes_wanted``. Among the images an
annotator has neither reserved nor voted on, the claim takes the least loaded (counted votes
plus live reservations), then the highest ``priority``, with a random tie-break, walking the
partial index ``image_assign_load_idx (project, load, priority DESC, random_key)`` (``load``:
stored ``counted_votes + reserved``) from its front, so it reads a handful of index entries
whatever the size of the project (no ``ORDER BY random()``).
Each claimed image gets a fresh ``random_key``, which re-shuffles it among the images of its
new load. ``priority`` is the same for every image of a ``fixed`` project, so its order is the
paper's randomized equal assignment; in an ``adaptive`` project the live update sets it from
the image's uncertainty (:mod:`annotation.services.live_reliability`), so among equally loaded
images the most uncertain are served first.

A paused or excluded annotator (``Qualification.paused``, kept by the database from the spammer
review) gets nothing from the claim statement itself, whatever a process has memoised; the
qualification check then says why (``paused``).

Concurrency is the database's job: the candidate rows are taken with
``SELECT ... FOR UPDATE SKIP LOCKED`` inside the claim's transaction, so two annotators never
wait on each other and never get the same slot; ``Image.reserved`` is raised in the same
transaction that inserts the :class:`Assignment`. A reservation lives until ``expires_at``
(``Project.reservation_timeout_s``); expired ones are released lazily by claims (at most once
a second per process) and by the periodic task ``assignments_release_expired``. The claim (gold
slots included) counts, locks, reserves and inserts in one statement: there is no other.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta

from cachetools import LRUCache, TTLCache
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Assignment, Image, Project, Qualification
from annotation.models.assignment import AssignmentStatus
from annotation.services.spammers import paused_error
from annotation.sql import fetch_prepared

# An annotator holds at most this many live reservations per project: enough for a page to
# show one image and preload the next ones, few enough that an abandoned tab blocks little.
MAX_OPEN_PER_ANNOTATOR = 4
MAX_CLAIM_COUNT = 2
# Expired reservations released by a claim (the periodic task takes care of any backlog), at
# most once per RELEASE_EVERY_S in each process so the hot path rarely pays for it.
RELEASE_BATCH = 50
RELEASE_EVERY_S = 1.0
_last_release = 0.0
# How long a passed qualification check is trusted without asking the database again. It only
# chooses the error a refused claim explains: the claim statement itself refuses a paused
# annotator, so a pause takes effect at once whatever this memo holds.
QUALIFIED_CACHE_S = 60
# The project each annotator last claimed or voted in: the next vote is nearly always in the
# same project, so its claim can go into the vote's own statement, which checks the guess (a
# wrong one only costs the merge). Kept in the shared cache (Redis) and, in front of it, in a
# bounded per-process memo: a keep-alive connection stays with one process, so the vote path
# reads Redis only when the annotator's requests move to another process.
LAST_PROJECT_CACHE_S = 3600
_last_project: TTLCache[int, int] = TTLCache(maxsize=4096, ttl=LAST_PROJECT_CACHE_S)
# Passed qualification checks, per process (bounded; an expired entry asks the database again).
_qualified: TTLCache[tuple[int, int, float], bool] = TTLCache(maxsize=4096, ttl=QUALIFIED_CACHE_S)
_memo_lock = threading.Lock()
# (annotator, project) pairs past their probation (``Project.probation_answers`` answers): they
# never go back, so a process remembers them and stops asking the database.
_past_probation: LRUCache[tuple[int, int, float], bool] = LRUCache(maxsize=65536)
# Answers of annotators still in probation, as this process last learnt them: from the database,
# or from the counters the merged vote statement returns (so a vote in probation reads nothing
# more). Answers grow (but for an undone vote), so a stale count errs towards one more gold
# check; an entry is trusted PROBATION_MEMO_S at most, for answers given through other processes.
PROBATION_MEMO_S = 30
_answers_in_probation: TTLCache[tuple[int, int, float], int] = TTLCache(maxsize=65536, ttl=PROBATION_MEMO_S)


def annotator_project_remember(*, annotator_id: int, project_id: int) -> None:
    """``annotator_id``'s next vote is probably in ``project_id``."""
    with _memo_lock:
        known = _last_project.get(annotator_id)
        _last_project[annotator_id] = project_id
    if known != project_id:
        cache.set(f"raf:last-project:{annotator_id}", project_id, LAST_PROJECT_CACHE_S)


def annotator_last_project(*, annotator_id: int) -> int | None:
    """The project of ``annotator_id``'s last claim or vote, when a cache still knows it."""
    with _memo_lock:
        project_id = _last_project.get(annotator_id)
    if project_id is None:
        project_id = cache.get(f"raf:last-project:{annotator_id}")
        if project_id is not None:
            with _memo_lock:
                _last_project[annotator_id] = project_id
    return project_id


def assignment_claim_next(
    *,
    annotator: AbstractBaseUser,
    project: Project,
    count: int = 1,
    resume: bool = False,
    gold_draws: Sequence[bool] | None = None,
) -> list[Assignment]:
    """Reserve up to ``count`` images for ``annotator`` and return their assignments.

    With ``resume`` the annotator's live open reservations in the project are returned first
    (a reloaded page gets back the images it was showing). Gold images are mixed in at
    :func:`gold_rate_for` (the probation rate for an annotator's first answers, then
    ``project.gold_rate``). Returns ``[]`` when nothing is left for this annotator.
    Raises ``ServiceError(code="not_qualified", 403)`` without a qualification.
    ``gold_draws``: the per-slot gold draws of :func:`assignment_claim_draws`, when a caller
    already drew them.
    """
    if not 0 <= count <= MAX_CLAIM_COUNT:
        raise ServiceError(f"count must be between 0 and {MAX_CLAIM_COUNT}.", code="invalid_count")
    # A resumed reservation is handed back without the claim statement, so ask the database
    # (a page load, not the vote path's claim).
    _require_qualification(annotator=annotator, project=project, fresh=resume)
    if count == 0:
        return []
    annotator_project_remember(annotator_id=annotator.pk, project_id=project.pk)
    _release_expired_now_and_then()

    now = timezone.now()
    # One draw per slot; the first `fresh` slots are used, so capping keeps the gold rate.
    if gold_draws is None or len(gold_draws) != count:
        rate = gold_rate_for(annotator=annotator, project=project)
        gold_draws = [random.random() < rate for _ in range(count)]
    if not resume:
        # The hot path (every vote's "next"): the cap on live reservations is counted, and the
        # gold slots filled, inside the claim statement itself.
        claimed = _claim(annotator=annotator, project=project, draws=gold_draws, now=now)
    else:
        live = Assignment.objects.filter(
            annotator=annotator, image__project=project, status=AssignmentStatus.OPEN, expires_at__gt=now
        )
        resumed = list(live.select_related("image").order_by("created_at", "id")[:count])
        if len(resumed) >= count:
            return resumed
        # The statement caps the fresh ones at MAX_OPEN_PER_ANNOTATOR live reservations in all.
        claimed = resumed + _claim(
            annotator=annotator, project=project, draws=gold_draws[: count - len(resumed)], now=now
        )
    if not claimed:
        # Out of work, or refused by the statement (paused since the memo was filled): say which.
        _require_qualification(annotator=annotator, project=project, fresh=True)
    return claimed


def assignment_claim_draws(*, annotator: AbstractBaseUser, project: Project, count: int) -> list[bool]:
    """What :func:`assignment_claim_next` does before it claims, for a claim merged into the
    vote's statement: the qualification check (``ServiceError``), the occasional release of
    expired reservations, and one gold draw per slot (merge only when none is gold)."""
    _require_qualification(annotator=annotator, project=project)
    _release_expired_now_and_then()
    rate = gold_rate_for(annotator=annotator, project=project)
    return [random.random() < rate for _ in range(count)]


def gold_rate_for(*, annotator: AbstractBaseUser, project: Project) -> float:
    """The share of gold checks among the images served to ``annotator`` now: the project's
    ``probation_gold_rate`` for their first ``probation_answers`` answers in the project (votes
    and gold checks alike, the qualification's ``votes_total``), then ``gold_rate``; a project
    with ``gold_rate`` 0 serves no gold checks, in probation or after. The count comes from a
    per-process memo that each merged vote updates (:func:`answers_note`), else the database."""
    if not (project.gold_rate and project.probation_answers) or project.probation_gold_rate <= project.gold_rate:
        return project.gold_rate  # no gold checks at all (gold_rate 0), or no probation
    key = (annotator.pk, project.pk, project.created_at.timestamp())
    with _memo_lock:
        if key in _past_probation:
            return project.gold_rate
        answers = _answers_in_probation.get(key)
    if answers is None:
        answers = (
            Qualification.objects.filter(annotator_id=annotator.pk, project=project)
            .values_list("votes_total", flat=True)
            .first()
        ) or 0
        answers_note(annotator_id=annotator.pk, project=project, answers=answers)
    return project.gold_rate if answers >= project.probation_answers else project.probation_gold_rate


def answers_note(*, annotator_id: int, project: Project, answers: int) -> None:
    """Tell :func:`gold_rate_for` that ``annotator_id`` has given ``answers`` answers in
    ``project`` (votes and gold checks: the qualification's ``votes_total``)."""
    if not (project.gold_rate and project.probation_answers):
        return
    key = (annotator_id, project.pk, project.created_at.timestamp())
    with _memo_lock:
        if answers >= project.probation_answers:
            _past_probation[key] = True
            _answers_in_probation.pop(key, None)
        else:
            _answers_in_probation[key] = max(answers, _answers_in_probation.get(key, 0))


def assignments_from_rows(
    rows: Sequence[Sequence[int]], *, annotator: AbstractBaseUser, project: Project, now: datetime
) -> list[Assignment]:
    """Assignments from the (assignment id, image id, width, height, is gold) rows of
    :func:`claim_ctes`."""
    expires_at = now + timedelta(seconds=project.reservation_timeout_s)
    return [
        Assignment(
            pk=pk,
            image=Image(pk=image_id, project=project, width=width, height=height, is_gold=bool(is_gold)),
            annotator=annotator,
            status=AssignmentStatus.OPEN,
            is_gold=bool(is_gold),
            created_at=now,
            expires_at=expires_at,
        )
        for pk, image_id, width, height, is_gold in rows
    ]


def _release_expired_now_and_then() -> None:
    global _last_release
    now = time.monotonic()
    if now - _last_release >= RELEASE_EVERY_S:
        _last_release = now
        assignments_release_expired(limit=RELEASE_BATCH)


def _require_qualification(*, annotator: AbstractBaseUser, project: Project, fresh: bool = False) -> None:
    # A passed check is kept briefly: every vote's "next" claim asks again (``fresh``: ask the
    # database now). created_at in the key: a recreated project with a reused id is never taken
    # for the old one.
    key = (annotator.pk, project.pk, project.created_at.timestamp())
    with _memo_lock:
        if not fresh and QUALIFIED_CACHE_S and _qualified.get(key):
            return
    paused = (
        Qualification.objects.filter(annotator=annotator, project=project, qualified_at__isnull=False)
        .values_list("paused", flat=True)
        .first()
    )
    if paused is None or paused:
        with _memo_lock:
            _qualified.pop(key, None)
    if paused is None:
        raise ServiceError(
            "Pass the tutorial and the quiz of this project before annotating.",
            code="not_qualified",
            status_code=403,
        )
    if paused:
        raise paused_error()
    if QUALIFIED_CACHE_S:
        with _memo_lock:
            _qualified[key] = True


def _claim(
    *,
    annotator: AbstractBaseUser,
    project: Project,
    draws: Sequence[bool],
    now: datetime,
) -> list[Assignment]:
    """Reserve one image per slot of ``draws`` (``True``: a gold image, or a regular one when
    the annotator has seen every gold image), within the cap on live reservations."""
    for _attempt in range(3):
        try:
            # One statement commits by itself: no BEGIN/COMMIT round trips (a savepoint inside a
            # caller's transaction, so a refused insert does not break it).
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                rows = fetch_prepared(
                    CLAIM_SQL[any(draws)], claim_params(annotator=annotator, project=project, draws=draws, now=now)
                )
            return assignments_from_rows(rows, annotator=annotator, project=project, now=now)
        except IntegrityError:
            # The same annotator claimed the same image from two tabs at once; the unique
            # (annotator, image) constraint refused one. Try again: the row is now excluded.
            continue
    return []


# The claim: count the slots, lock, reserve and insert in one statement.
#
# * slots: how many of the draws fit under the cap on the annotator's live reservations in the
#   project (MAX_OPEN_PER_ANNOTATOR; %(voted)s is left out: the merged vote statement closes it);
#   none for an annotator who is not qualified, or paused (one probe of qualification_unique);
#   ``{guard}`` (``true`` here) lets the merged vote statement claim only once its vote is written;
# * gold_high, gold_low: the gold slots among those, read from a random point of image_gold_idx
#   round to its start, unseen gold images only, never a tutorial example (shown to everyone,
#   with its class: %(tutorial_examples)s) nor an image this annotator was asked in a quiz
#   (``quizzed``: the qualification's quiz_seen, read by the statement itself);
# * regular: the other slots (and gold slots with no unseen gold image left), the least loaded
#   unseen images, the highest priority first among equal loads, in the order of
#   image_assign_load_idx (compiling such a queryset costs more CPU than running it). The ORDER
#   BY and WHERE match image_assign_load_idx, so it is an index scan that stops after LIMIT rows
#   it could lock;
# * bumped, inserted: the reservations (with gold slots in a random order: gold never comes first).
#
# Claims with no gold slot (nearly all) use a statement without the gold parts: a part that
# never runs still costs Postgres its set-up on every execution.
_SLOTS_CTE = """
    slots AS (
        SELECT CASE WHEN {guard} AND (
            SELECT q.qualified_at IS NOT NULL AND NOT q.paused FROM annotation_qualification q
            WHERE q.annotator_id = %(annotator)s::integer AND q.project_id = %(project)s::bigint
        ) THEN GREATEST(0, LEAST(cardinality(%(draws)s::boolean[]), %(max_open)s::integer - (
            SELECT count(*) FROM annotation_assignment a JOIN annotation_image ai ON ai.id = a.image_id
            WHERE a.annotator_id = %(annotator)s::integer AND a.status = 'open' AND a.id <> %(voted)s::bigint
              AND a.expires_at + interval '0 s' > %(now)s::timestamptz AND ai.project_id = %(project)s::bigint
        ))) ELSE 0 END AS fresh
    ),"""
_GOLD_CTES = """
    gold_wanted AS (
        SELECT count(*) FILTER (WHERE d.gold) AS n
        FROM slots, unnest((%(draws)s::boolean[])[1:slots.fresh]) AS d(gold)
    ),
    quizzed AS (
        SELECT coalesce((
            SELECT q.quiz_seen FROM annotation_qualification q
            WHERE q.annotator_id = %(annotator)s::integer AND q.project_id = %(project)s::bigint
        ), '{}'::bigint[]) AS quiz_seen
    ),
    gold_high AS (
        SELECT i.id FROM annotation_image i
        WHERE i.project_id = %(project)s::bigint AND i.status = 'ready' AND i.is_gold
          AND i.random_key >= %(gold_from)s::double precision AND {unseen}
          AND i.id <> ALL(%(tutorial_examples)s::bigint[]) AND i.id <> ALL((SELECT quiz_seen FROM quizzed)::bigint[])
        ORDER BY i.random_key
        LIMIT (SELECT n FROM gold_wanted)
        FOR UPDATE OF i SKIP LOCKED
    ),
    gold_low AS (
        SELECT i.id FROM annotation_image i
        WHERE i.project_id = %(project)s::bigint AND i.status = 'ready' AND i.is_gold
          AND i.random_key < %(gold_from)s::double precision AND {unseen}
          AND i.id <> ALL(%(tutorial_examples)s::bigint[]) AND i.id <> ALL((SELECT quiz_seen FROM quizzed)::bigint[])
        ORDER BY i.random_key
        LIMIT (SELECT n FROM gold_wanted) - (SELECT count(*) FROM gold_high)
        FOR UPDATE OF i SKIP LOCKED
    ),"""
_RESERVE_CTES = """
    regular AS (
        SELECT i.id FROM annotation_image i
        WHERE i.project_id = %(project)s::bigint AND i.status = 'ready' AND NOT i.is_gold
          AND i.load < i.votes_wanted
          AND {unseen}
        ORDER BY i.load, i.priority DESC, i.random_key
        LIMIT {regular_limit}
        FOR UPDATE OF i SKIP LOCKED
    ),
    bumped AS (
        UPDATE annotation_image AS i SET reserved = i.reserved + 1, random_key = random()
        WHERE i.id = ANY(ARRAY({picked}))
        RETURNING i.id, i.width, i.height, i.is_gold
    ),
    inserted AS (
        INSERT INTO annotation_assignment (image_id, annotator_id, status, is_gold, created_at, expires_at)
        SELECT bumped.id, %(annotator)s::integer, 'open', bumped.is_gold, %(now)s::timestamptz,
               %(expires_at)s::timestamptz
        FROM bumped{insert_order}
        RETURNING id, image_id
    ),
    claimed AS (
        SELECT inserted.id, inserted.image_id, bumped.width, bumped.height, bumped.is_gold
        FROM inserted JOIN bumped ON bumped.id = inserted.image_id
    )"""
# "Not yet seen by the annotator" as one probe per candidate into the (annotator, image) unique
# indexes. Written as NOT EXISTS the planner turns it into an anti join that reads ALL the
# annotator's votes and assignments on every claim (its cost grew with the annotator's history);
# scalar subqueries with LIMIT stay per-candidate index probes.
UNSEEN_SQL = """(SELECT 1 FROM annotation_assignment a
               WHERE a.annotator_id = %(annotator)s::integer AND a.image_id = i.id LIMIT 1) IS NULL
          AND (SELECT 1 FROM annotation_vote v
               WHERE v.annotator_id = %(annotator)s::integer AND v.image_id = i.id LIMIT 1) IS NULL"""


def claim_ctes(*, gold: bool, guard: str = "true") -> str:
    """The claim's CTEs, ending with ``claimed`` (assignment id, image id, width, height, is
    gold); ``gold``: with the gold slots (else every slot is regular)."""
    if gold:
        text = _SLOTS_CTE + _GOLD_CTES + _RESERVE_CTES
        regular_limit = "(SELECT fresh FROM slots) - (SELECT count(*) FROM gold_high) - (SELECT count(*) FROM gold_low)"
        picked = "SELECT id FROM gold_high UNION ALL SELECT id FROM gold_low UNION ALL SELECT id FROM regular"
        insert_order = " ORDER BY random()"
    else:
        text = _SLOTS_CTE + _RESERVE_CTES
        regular_limit, picked, insert_order = "(SELECT fresh FROM slots)", "SELECT id FROM regular", ""
    return (
        text.replace("{guard}", guard)
        .replace("{unseen}", UNSEEN_SQL)
        .replace("{regular_limit}", regular_limit)
        .replace("{picked}", picked)
        .replace("{insert_order}", insert_order)
    )


# The rows of ``claimed`` as one array of (assignment id, image id, width, height, is gold).
CLAIMED_ARRAY_SQL = """ARRAY(
        SELECT ARRAY[claimed.id, claimed.image_id, claimed.width, claimed.height, claimed.is_gold::integer]
        FROM claimed ORDER BY claimed.id
    )"""
# The claim on its own, without (False) and with (True) gold slots.
CLAIM_SQL = {
    gold: "WITH "
    + claim_ctes(gold=gold)
    + "\n    SELECT claimed.id, claimed.image_id, claimed.width, claimed.height, claimed.is_gold FROM claimed"
    + "\n    ORDER BY claimed.id\n"
    for gold in (False, True)
}


def claim_params(
    *, annotator: AbstractBaseUser, project: Project, draws: Sequence[bool], now: datetime, voted: int = 0
) -> dict[str, object]:
    """Parameters of :func:`claim_ctes`: one slot per draw (``True``: gold)."""
    # Only a claim with a gold slot (a few in a hundred) needs the tutorial examples (cached).
    tutorial_examples = tutorial_example_ids(project=project) if any(draws) else []
    return {
        "project": project.pk,
        "annotator": annotator.pk,
        "draws": [bool(d) for d in draws],
        "gold_from": random.random(),
        "now": now,
        "expires_at": now + timedelta(seconds=project.reservation_timeout_s),
        "max_open": MAX_OPEN_PER_ANNOTATOR,
        "voted": voted,
        "tutorial_examples": tutorial_examples,
    }


# Tutorial examples change only when gold images do; a minute's staleness is harmless (the quiz
# pool and the checks exclude them on every draw after that).
TUTORIAL_EXAMPLES_CACHE_S = 60


def tutorial_example_ids(*, project: Project) -> list[int]:
    """The project's tutorial examples, never served as gold checks (everyone saw them, with
    their class); the images an annotator was asked in a quiz are left out by the claim
    statement itself, from the qualification's ``quiz_seen``."""
    from annotation.services.qualification import tutorial_example_images

    key = f"raf:tutorial-examples:{project.pk}:{project.created_at.timestamp()}"
    examples = cache.get(key)
    if examples is None:
        examples = sorted(image.pk for image in tutorial_example_images(project=project).values())
        cache.set(key, examples, TUTORIAL_EXAMPLES_CACHE_S)
    return examples


def assignments_release_expired(*, limit: int = 1000) -> int:
    """Release up to ``limit`` open reservations past their expiry; returns how many.

    Each is marked ``expired`` and its image's ``reserved`` lowered in the same transaction.
    Rows another transaction holds (a vote being written on them) are skipped, not waited on.
    """
    now = timezone.now()
    with transaction.atomic():
        expired = list(
            Assignment.objects.filter(status=AssignmentStatus.OPEN, expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("id", "image_id")[:limit]
        )
        if not expired:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in expired]).update(status=AssignmentStatus.EXPIRED)
        # Lowered image by image in id order, so two releasers never deadlock.
        for image_id, n in sorted(Counter(image_id for _, image_id in expired).items()):
            Image.objects.filter(pk=image_id).update(reserved=F("reserved") - n)
    return len(expired)

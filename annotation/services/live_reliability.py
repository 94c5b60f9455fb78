"""Live reliability of a project: the beat task's update between full reliability runs.

One update (``live_reliability_update``): read every answer of the project in one statement
straight into numpy arrays (:mod:`annotation.services.vote_arrays`), continue GLAD from the
stored state (``reliability.live``), refit the vote prior, run the spammer tests over every
annotator's answers (``reliability.spammers``; new flags go to the review queue, paused at once
under ``spammer_action="pause"``) and, for an ``adaptive`` project, retire the images whose
partition outcome has settled (``reliability.adaptive``): their ``votes_wanted`` drops to
``counted_votes + reserved``, so the claim statement, which serves an image only while
``counted_votes + reserved < votes_wanted``, stops serving them and the database constraint
``counted_votes <= votes_wanted`` still holds. Excluding an annotator
(``annotation.services.spammers``) puts ``votes_wanted`` back. An adaptive project's update
also stores each image's serving priority (``Image.priority``, :func:`serving_priority`), which
orders equally loaded images in the claim, most uncertain first; a fixed project's images all
keep ``PRIORITY_UNKNOWN``. Results go back in a few set-based statements (arrays, never a row
at a time). The same library functions run in ``python -m reliability replay``.
"""

from __future__ import annotations

import io
import time

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from annotation.models import AnnotatorFlag, FlagStatus, Image, LiveReliability, Project
from annotation.models.image import PRIORITY_UNKNOWN
from annotation.services.spammers import annotator_flag, excluded_votes_uncount
from annotation.services.vote_arrays import PROJECT_VOTES, VOTE_COLUMNS, query_arrays
from reliability.adaptive import AllocationPolicy, VotePrior, effective_counts, settled, uncertainty
from reliability.live import LiveState, live_table, live_update
from reliability.spammers import SpammerRules, base_rate_prior, spammer_report, vote_predictive


def live_reliability_update(
    *, project: Project, rules: SpammerRules | None = None, timings: dict[str, float] | None = None
) -> LiveReliability | None:
    """One live update of ``project`` (see the module docstring); None when it has no votes.
    ``timings``, when given, receives the CPU seconds of this process in each phase:
    ``read_cpu_s`` (the answers and the stored state), ``em_cpu_s`` (warm GLAD),
    ``spammer_cpu_s`` (vote prior and spammer tests), ``stopping_cpu_s`` (stopping rule and
    serving priorities) and ``write_cpu_s`` (flags, retirements, priorities, state)."""
    started = time.perf_counter()
    lap = _CpuLaps(timings)
    rules = rules or SpammerRules()
    k = project.n_classes
    for annotator_id in AnnotatorFlag.objects.filter(project=project, status=FlagStatus.EXCLUDED).values_list(
        "annotator_id", flat=True
    ):
        with transaction.atomic():
            excluded_votes_uncount(project=project, annotator_id=annotator_id)
    answers = project_answers(project_id=project.pk)
    if answers["id"].shape[0] == 0:
        return None
    annotator_ids, annotator = dense_index(answers["annotator"])
    image_ids, image = dense_index(answers["image"])
    label = answers["label"]
    counted = answers["counted"] == 1
    gold_label = answers["gold_label"]
    time_ms = np.where(answers["time_ms"] >= 0, answers["time_ms"], np.nan)
    n_ann, n_img = annotator_ids.shape[0], image_ids.shape[0]
    stored = LiveReliability.objects.filter(project=project).first()
    saved = _load_state(stored)
    lap("read_cpu_s")

    previous = _previous_state(saved, annotator_ids, image_ids, k) if saved is not None else None
    live = None
    if counted.any():
        table = live_table(
            annotator[counted],
            image[counted],
            label[counted],
            n_annotators=n_ann,
            n_images=n_img,
            classes=tuple(project.classes),
        )
        live = live_update(table, previous)
    lap("em_cpu_s")
    weight = live.weight if live is not None else np.ones(n_ann)
    counts, n_counted = effective_counts(
        image[counted], label[counted], weight[annotator[counted]], n_images=n_img, n_classes=k
    )
    last = VotePrior(alpha=np.asarray(stored.prior, dtype=np.float64)) if stored is not None and stored.prior else None
    prior = VotePrior.fit(counts, start=last)  # from the last update's prior: a few iterations
    # The spammer tests are sequential tests of each annotator's evidence as it arrives: they
    # look again at the annotators who answered since the last update and have no flag yet (all
    # of their answers, in order); the others' evidence has not changed.
    flagged_before = set(AnnotatorFlag.objects.filter(project=project).values_list("annotator_id", flat=True))
    tested = np.zeros(n_ann, dtype=bool)
    tested[annotator[answers["id"] > _last_answer_id(saved)]] = True
    tested &= ~np.isin(annotator_ids, np.fromiter(flagged_before, dtype=np.int64, count=len(flagged_before)))
    rows = tested[annotator]
    own = (counted[rows] & (weight[annotator[rows]] > 0)).astype(np.float64)
    report = spammer_report(
        annotator=annotator[rows],
        label=label[rows],
        predictive=vote_predictive(counts, image[rows], label[rows], own, base_rate_prior(counts, prior.alpha.sum())),
        gold_label=gold_label[rows],
        time_ms=time_ms[rows],
        n_annotators=n_ann,
        n_classes=k,
        rules=rules,
    )
    lap("spammer_cpu_s")
    done = None
    if project.allocation == "adaptive":
        policy = AllocationPolicy(
            kind="adaptive",
            min_votes=min(project.min_votes, project.votes_wanted),
            max_votes=project.votes_wanted,
            confidence=project.stop_confidence,
        )
        rng = np.random.default_rng([project.pk, int(counted.sum())])
        # The stopping rule looks again at an image only when its votes changed (as the replay
        # does): a fresh Monte Carlo draw on unchanged votes would only give a borderline
        # image another chance to retire by luck, and it is most of an update's cost.
        touched = np.flatnonzero(n_counted != _checked_votes(saved, image_ids))
        done = np.zeros(n_img, dtype=bool)
        done[touched] = settled(
            counts[touched], n_counted[touched], policy=policy, prior=prior, classes=tuple(project.classes), rng=rng
        )
        priority = serving_priority(counts, prior=prior)
    lap("stopping_cpu_s")
    state = _state_bytes(live, annotator_ids, image_ids, n_counted, int(answers["id"][-1])) if live is not None else b""
    for i in np.flatnonzero(report.flagged):  # a loop over newly flagged annotators, a handful
        evidence = {
            "random_llr": round(float(report.random_llr[i]), 3),
            "straight_llr": round(float(report.straight_llr[i]), 3),
            "gold": [int(report.gold_correct[i]), int(report.gold_answers[i])],
            "median_time_ms": None if np.isnan(report.median_time_ms[i]) else float(report.median_time_ms[i]),
        }
        annotator_flag(
            project=project,
            annotator_id=int(annotator_ids[i]),
            reason=str(report.reason[i]),
            answers=int(report.answers[i]),
            evidence=evidence,
        )
    retired = 0
    if done is not None:
        retired = images_retire(image_ids=image_ids[done & (n_counted < project.votes_wanted)])
        images_prioritise(project_id=project.pk, image_ids=image_ids, priority=priority)
    else:
        images_prioritise(project_id=project.pk, image_ids=None, priority=None)
    with transaction.atomic():
        row, _ = LiveReliability.objects.update_or_create(
            project=project,
            defaults={
                "computed_at": timezone.now(),
                "votes": int(counted.sum()),
                "seconds": round(time.perf_counter() - started, 3),
                "annotators_kept": int(live.kept.sum()) if live is not None else 0,
                "annotators_flagged": AnnotatorFlag.objects.filter(project=project).count(),
                "images_retired": retired,
                "prior": [round(float(a), 4) for a in prior.alpha],
                "state": state,
            },
        )
    lap("write_cpu_s")
    return row


def project_answers(*, project_id: int) -> dict[str, np.ndarray]:
    """Every answer given in the project (votes and gold checks) as ``(n,)`` int64 arrays in the
    order they were written (vote id): ``id``, ``annotator``, ``image`` (user and image ids),
    ``label``, ``time_ms`` (-1 where unknown), ``counted`` (1 for a counted vote, else 0: gold
    checks, excluded and late votes) and ``gold_label`` (the gold label of a gold check, else -1).
    One statement (:func:`annotation.services.vote_arrays.query_arrays`)."""
    return query_arrays(
        columns=[
            *VOTE_COLUMNS,
            ("time_ms", "COALESCE(v.time_taken_ms, -1)", "int4"),
            ("counted", "(v.counted AND NOT v.is_gold)::integer", "int2"),
            ("gold_label", "CASE WHEN v.is_gold THEN COALESCE(i.gold_label, -1) ELSE -1 END", "int2"),
        ],
        from_where=PROJECT_VOTES,
        params={"project": project_id},
        order_by="id",
    )


def live_reliability_update_due(*, every_votes: int | None = None, every_s: int | None = None) -> int:
    """Update every project with ``every_votes`` new counted votes since its last update, or
    any new vote and ``every_s`` seconds (settings ``RAF_LIVE_EVERY_VOTES``, ``RAF_LIVE_EVERY_S``).
    Returns how many projects were updated."""
    every_votes = every_votes if every_votes is not None else getattr(settings, "RAF_LIVE_EVERY_VOTES", 2000)
    every_s = every_s if every_s is not None else getattr(settings, "RAF_LIVE_EVERY_S", 300)
    now = timezone.now()
    updated = 0
    for project in Project.objects.all():  # a loop over projects, a handful
        counted = Image.objects.filter(project=project).aggregate(n=Sum("counted_votes"))["n"] or 0
        last = LiveReliability.objects.filter(project=project).first()
        if last is None:
            due = counted > 0
        else:
            new = counted - last.votes
            due = new >= every_votes or (new != 0 and (now - last.computed_at).total_seconds() >= every_s)
        if due:
            live_reliability_update(project=project)
            updated += 1
    return updated


def images_retire(*, image_ids: np.ndarray) -> int:
    """Stop serving these images: ``votes_wanted := counted_votes + reserved`` (live
    reservations may still finish). One statement; returns the rows changed."""
    if image_ids.shape[0] == 0:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE annotation_image SET votes_wanted = counted_votes + reserved
            WHERE id = ANY(%s) AND votes_wanted > counted_votes + reserved AND counted_votes + reserved >= 1
            """,
            [[int(j) for j in image_ids]],
        )
        return int(cursor.rowcount)


def dense_index(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)``: the distinct ids ascending and each one's index,
    through a lookup table (one pass, no sort) when the ids are compact, as database ids are."""
    if ids.shape[0] == 0 or int(ids.max()) - int(ids.min()) > 4 * ids.shape[0] + 1_000_000:
        distinct, inverse = np.unique(ids, return_inverse=True)
        return distinct, inverse.reshape(-1)
    low = int(ids.min())
    present = np.zeros(int(ids.max()) - low + 1, dtype=bool)
    present[ids - low] = True
    lookup = np.cumsum(present) - 1
    return np.flatnonzero(present) + low, lookup[ids - low]


class _CpuLaps:
    """Records this process's CPU seconds since the previous lap under each lap's name."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into if into is not None else {}
        self.last = time.process_time()

    def __call__(self, name: str) -> None:
        now = time.process_time()
        self.into[name] = now - self.last
        self.last = now


def serving_priority(counts: np.ndarray, *, prior: VotePrior) -> np.ndarray:
    """``(n_images,)`` ``Image.priority`` values from the images' weighted counts ``(n_images, K)``:
    the posterior-predictive entropy of the next vote (``reliability.adaptive.uncertainty``) as a
    share of its largest value ``ln K``, in hundredths. An image without votes gets
    ``PRIORITY_UNKNOWN`` (100): under the symmetric prior its entropy is the largest."""
    k = counts.shape[1]
    share = uncertainty(counts, prior=prior) / np.log(k)
    return np.clip(np.rint(share * PRIORITY_UNKNOWN), 0, PRIORITY_UNKNOWN).astype(np.int64)


_PRIORITISE_SQL = """
WITH wanted AS (
    SELECT w.id, w.priority FROM unnest(%(ids)s::bigint[], %(priority)s::smallint[]) AS w(id, priority)
),
locked AS (
    SELECT i.id FROM annotation_image i JOIN wanted w ON w.id = i.id
    WHERE i.project_id = %(project)s AND i.priority <> w.priority
    ORDER BY i.id
    FOR NO KEY UPDATE OF i
)
UPDATE annotation_image i SET priority = w.priority
FROM wanted w JOIN locked ON locked.id = w.id
WHERE i.id = w.id
"""
_PRIORITY_RESET_SQL = """
WITH locked AS (
    SELECT i.id FROM annotation_image i
    WHERE i.project_id = %(project)s AND i.priority <> %(unknown)s
    ORDER BY i.id
    FOR NO KEY UPDATE OF i
)
UPDATE annotation_image i SET priority = %(unknown)s FROM locked WHERE i.id = locked.id
"""


def images_prioritise(*, project_id: int, image_ids: np.ndarray | None, priority: np.ndarray | None) -> int:
    """Store ``Image.priority``: ``priority`` for ``image_ids`` (only the rows whose value
    changes are written), or, with ``None``, ``PRIORITY_UNKNOWN`` for every image of the
    project (a fixed project, or one switched back to fixed). One statement; rows are locked in
    id order, as an exclusion locks them. Returns the rows changed."""
    with connection.cursor() as cursor:
        if image_ids is None or priority is None:
            cursor.execute(_PRIORITY_RESET_SQL, {"project": project_id, "unknown": PRIORITY_UNKNOWN})
        else:
            cursor.execute(
                _PRIORITISE_SQL, {"project": project_id, "ids": image_ids.tolist(), "priority": priority.tolist()}
            )
        return int(cursor.rowcount)


def _state_bytes(
    live: LiveState, annotator_ids: np.ndarray, image_ids: np.ndarray, checked: np.ndarray, last_answer_id: int
) -> bytes:
    """The next update's warm start, each image's counted votes when the stopping rule last
    looked at it (``checked``), and the id of the last answer read."""
    buffer = io.BytesIO()
    np.savez(  # not compressed: about 1.6 MB at RAF scale, 0.1 s of CPU less
        buffer,
        annotator_ids=annotator_ids,
        alpha=live.alpha,
        image_ids=image_ids,
        log_beta=live.log_beta,
        posterior=live.posterior.astype(np.float32),
        checked=checked.astype(np.int32),
        last_answer_id=np.int64(last_answer_id),
    )
    return buffer.getvalue()


def _load_state(stored: LiveReliability | None) -> dict[str, np.ndarray] | None:
    """The arrays of a stored state; None when there is none or it cannot be read."""
    if stored is None or not stored.state:
        return None
    try:
        with np.load(io.BytesIO(bytes(stored.state))) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError):
        return None


def _last_answer_id(saved: dict[str, np.ndarray] | None) -> int:
    """The id of the last answer the previous update read; -1 without one (everyone is new)."""
    return int(saved["last_answer_id"]) if saved is not None and "last_answer_id" in saved else -1


def _checked_votes(saved: dict[str, np.ndarray] | None, image_ids: np.ndarray) -> np.ndarray:
    """``(n_images,)`` each image's counted votes when the stopping rule last looked at it, -1
    for an image it never saw (every image, without a state)."""
    checked = np.full(image_ids.shape[0], -1, dtype=np.int64)
    if saved is None or "checked" not in saved or saved["image_ids"].shape[0] == 0:
        return checked
    old_img = saved["image_ids"]
    pos = np.searchsorted(old_img, image_ids).clip(0, old_img.shape[0] - 1)
    known = old_img[pos] == image_ids
    checked[known] = saved["checked"][pos[known]]
    return checked


def _previous_state(
    saved: dict[str, np.ndarray], annotator_ids: np.ndarray, image_ids: np.ndarray, k: int
) -> LiveState | None:
    """The stored state mapped onto today's index spaces (new annotators and images start
    from GLAD's neutral values); None when nothing usable is stored."""
    try:
        old_ann, alpha, old_img = saved["annotator_ids"], saved["alpha"], saved["image_ids"]
        log_beta, posterior = saved["log_beta"], saved["posterior"].astype(np.float64)
    except KeyError:
        return None
    if posterior.ndim != 2 or posterior.shape[1] != k:
        return None
    new_alpha = np.ones(annotator_ids.shape[0])
    pos = np.searchsorted(old_ann, annotator_ids).clip(0, max(old_ann.shape[0] - 1, 0))
    known = old_ann[pos] == annotator_ids if old_ann.shape[0] else np.zeros(annotator_ids.shape[0], dtype=bool)
    new_alpha[known] = alpha[pos[known]]
    new_u = np.ones(image_ids.shape[0])
    new_post = np.full((image_ids.shape[0], k), 1.0 / k)
    pos = np.searchsorted(old_img, image_ids).clip(0, max(old_img.shape[0] - 1, 0))
    known = old_img[pos] == image_ids if old_img.shape[0] else np.zeros(image_ids.shape[0], dtype=bool)
    new_u[known] = log_beta[pos[known]]
    new_post[known] = posterior[pos[known]]
    return LiveState(
        alpha=new_alpha,
        log_beta=new_u,
        posterior=new_post,
        accuracy=np.full(annotator_ids.shape[0], np.nan),
        kept=np.ones(annotator_ids.shape[0], dtype=bool),
        weight=new_alpha,
        iterations=0,
        seconds=0.0,
    )

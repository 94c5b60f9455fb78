"""Live reliability of a project: the beat task's update between full reliability runs.

One update (``live_reliability_update``): read the project's votes in one streaming query,
continue GLAD from the stored state (``reliability.live``), refit the vote prior, run the
spammer tests over every annotator's answers (``reliability.spammers``; new flags go to the
review queue, paused at once under ``spammer_action="pause"``) and, for an ``adaptive``
project, retire the images whose partition outcome has settled (``reliability.adaptive``):
their ``votes_wanted`` drops to ``counted_votes + reserved``, so the claim statement, which
serves an image only while ``counted_votes + reserved < votes_wanted``, stops serving them and
the database constraint ``counted_votes <= votes_wanted`` still holds. Excluding an annotator
(``annotation.services.spammers``) puts ``votes_wanted`` back. The same library functions run
in ``python -m reliability replay``.
"""

from __future__ import annotations

import io
import itertools
import time

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from annotation.models import AnnotatorFlag, FlagStatus, Image, LiveReliability, Project, Vote
from annotation.services.spammers import annotator_flag, excluded_votes_uncount
from reliability.adaptive import AllocationPolicy, VotePrior, effective_counts, settled
from reliability.live import LiveState, live_table, live_update
from reliability.spammers import SpammerRules, base_rate_prior, spammer_report, vote_predictive


def live_reliability_update(*, project: Project, rules: SpammerRules | None = None) -> LiveReliability | None:
    """One live update of ``project`` (see the module docstring); None when it has no votes."""
    started = time.perf_counter()
    rules = rules or SpammerRules()
    k = project.n_classes
    for annotator_id in AnnotatorFlag.objects.filter(project=project, status=FlagStatus.EXCLUDED).values_list(
        "annotator_id", flat=True
    ):
        with transaction.atomic():
            excluded_votes_uncount(project=project, annotator_id=annotator_id)
    rows = (
        Vote.objects.filter(image__project=project)
        .order_by("created_at", "id")
        .values_list("annotator_id", "image_id", "label", "time_taken_ms", "counted", "is_gold", "image__gold_label")
    )
    flat = np.fromiter(
        (np.nan if v is None else float(v) for v in itertools.chain.from_iterable(rows.iterator(chunk_size=20_000))),
        dtype=np.float64,
    )
    if flat.shape[0] == 0:
        return None
    votes = flat.reshape(-1, 7)  # (n_answers, 7) in time order
    annotator_ids, annotator = np.unique(votes[:, 0].astype(np.int64), return_inverse=True)
    image_ids, image = np.unique(votes[:, 1].astype(np.int64), return_inverse=True)
    label = votes[:, 2].astype(np.int64)
    counted = (votes[:, 4] == 1) & (votes[:, 5] == 0)
    gold_label = np.where(votes[:, 5] == 1, np.nan_to_num(votes[:, 6], nan=-1), -1).astype(np.int64)
    n_ann, n_img = annotator_ids.shape[0], image_ids.shape[0]

    stored = LiveReliability.objects.filter(project=project).first()
    previous = _previous_state(stored, annotator_ids, image_ids, k) if stored is not None else None
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
    weight = live.weight if live is not None else np.ones(n_ann)
    counts, n_counted = effective_counts(
        image[counted], label[counted], weight[annotator[counted]], n_images=n_img, n_classes=k
    )
    prior = VotePrior.fit(counts)
    own = (counted & (weight[annotator] > 0)).astype(np.float64)
    report = spammer_report(
        annotator=annotator,
        label=label,
        predictive=vote_predictive(counts, image, label, own, base_rate_prior(counts, prior.alpha.sum())),
        gold_label=gold_label,
        time_ms=votes[:, 3],
        n_annotators=n_ann,
        n_classes=k,
        rules=rules,
    )
    already = set(AnnotatorFlag.objects.filter(project=project).values_list("annotator_id", flat=True))
    flagged = 0
    for i in np.flatnonzero(report.flagged):  # a loop over newly flagged annotators, a handful
        if int(annotator_ids[i]) in already:
            continue
        evidence = {
            "random_llr": round(float(report.random_llr[i]), 3),
            "straight_llr": round(float(report.straight_llr[i]), 3),
            "gold": [int(report.gold_correct[i]), int(report.gold_answers[i])],
            "median_time_ms": None if np.isnan(report.median_time_ms[i]) else float(report.median_time_ms[i]),
        }
        flagged += (
            annotator_flag(
                project=project,
                annotator_id=int(annotator_ids[i]),
                reason=str(report.reason[i]),
                answers=int(report.answers[i]),
                evidence=evidence,
            )
            is not None
        )

    retired = 0
    if project.allocation == "adaptive":
        policy = AllocationPolicy(
            kind="adaptive",
            min_votes=min(project.min_votes, project.votes_wanted),
            max_votes=project.votes_wanted,
            confidence=project.stop_confidence,
        )
        rng = np.random.default_rng([project.pk, int(counted.sum())])
        done = settled(counts, n_counted, policy=policy, prior=prior, classes=tuple(project.classes), rng=rng)
        retired = images_retire(image_ids=image_ids[done & (n_counted < project.votes_wanted)])

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
                "state": _state_bytes(live, annotator_ids, image_ids) if live is not None else b"",
            },
        )
    del flagged
    return row


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


def _state_bytes(live: LiveState, annotator_ids: np.ndarray, image_ids: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        annotator_ids=annotator_ids,
        alpha=live.alpha,
        image_ids=image_ids,
        log_beta=live.log_beta,
        posterior=live.posterior.astype(np.float32),
    )
    return buffer.getvalue()


def _previous_state(
    stored: LiveReliability, annotator_ids: np.ndarray, image_ids: np.ndarray, k: int
) -> LiveState | None:
    """The stored state mapped onto today's index spaces (new annotators and images start
    from GLAD's neutral values); None when nothing usable is stored."""
    if not stored.state:
        return None
    try:
        data = np.load(io.BytesIO(bytes(stored.state)))
        old_ann, alpha, old_img = data["annotator_ids"], data["alpha"], data["image_ids"]
        log_beta, posterior = data["log_beta"], data["posterior"].astype(np.float64)
    except (OSError, KeyError, ValueError):
        return None
    if posterior.shape[1:] != (k,):
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

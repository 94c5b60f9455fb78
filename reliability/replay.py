"""Replay recorded votes through an allocation policy and the spammer rules.

``python -m reliability replay VOTES.csv --policy fixed|adaptive --out DIR`` answers "what would
the platform have collected, and concluded, had this project run under that policy?".

**The stream.** Votes arrive the way the platform's claim hands images out (least-voted image
first): each image's votes are put in a seeded random order, and the ``r``-th vote of every image
comes in round ``r``, at a random moment within the round. Gold answers (votes on the images of
``--gold``) come at random moments throughout. Counted votes are taken as they come unless the
image is retired or full (``max_votes`` counted votes) or the annotator is flagged; a vote that
is not taken was never asked for.

**Live updates**, as the platform's beat task and vote path would do them: a warm-started GLAD
update (:mod:`reliability.live`) and a refit of the project's vote prior every ``refit_every``
answers, the spammer rules over every annotator's answers so far on a schedule that is dense at
first, and the stopping rule on each image whose votes changed, every ``step`` answers.
A flagged annotator's counted votes are excluded at once; their images go back to collecting
(and may take later votes as replacements).

**The result** is the paper's pipeline (:func:`reliability.pipeline.estimate`) on the votes that
stayed counted, the same procedure as the full-votes run it is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reliability.adaptive import AllocationPolicy, VotePrior, settled
from reliability.live import LiveState, live_table, live_update
from reliability.pipeline import ReliabilityEstimate, estimate
from reliability.spammers import SpammerReport, SpammerRules, base_rate_prior, spammer_report, vote_predictive
from reliability.votes import VoteTable

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReplayVotes:
    """Votes to replay: a :class:`VoteTable` of every answer plus what the table lacks.

    Attributes:
        table: all answers (gold ones included), dense ids.
        time_ms: ``(n_votes,)`` answer time, NaN where unknown; or None.
        gold_label: ``(n_images,)`` the true label of a gold image, -1 for the others.
    """

    table: VoteTable
    time_ms: np.ndarray | None
    gold_label: np.ndarray

    @property
    def is_gold_vote(self) -> np.ndarray:
        return self.gold_label[self.table.image] >= 0


@dataclass(frozen=True)
class ReplayResult:
    """What a replay collected and concluded.

    Attributes:
        votes: the input.
        policy, rules: the settings used.
        taken: ``(n_votes,)`` bool, counted votes the platform would have collected.
        counted: ``(n_votes,)`` bool, taken and not excluded at the end.
        votes_used: ``(n_images,)`` counted votes per image (gold images: 0).
        flagged_at: ``(n_annotators,)`` answers given when flagged, -1 if never flagged.
        flagged_votes: ``(n_annotators,)`` counted votes taken from each annotator (for a flagged
            one: before the flag, since no later vote is taken; all excluded at the flag).
        flag_reason: ``(n_annotators,)`` the test that flagged each annotator, at the flag
            (``report.reason`` is the last report's verdict, which can differ).
        report: the spammer rules' last report.
        estimate: the pipeline on the counted votes (all images; gold images have no votes).
        live_seconds: wall time of each live GLAD update.
    """

    votes: ReplayVotes
    policy: AllocationPolicy
    rules: SpammerRules
    taken: np.ndarray
    counted: np.ndarray
    votes_used: np.ndarray
    flagged_at: np.ndarray
    flagged_votes: np.ndarray
    flag_reason: np.ndarray
    report: SpammerReport
    estimate: ReliabilityEstimate
    live_seconds: tuple[float, ...]

    @property
    def votes_total(self) -> int:
        """Counted-vote candidates in the input (gold answers excluded)."""
        return int((~self.votes.is_gold_vote).sum())

    @property
    def saved_fraction(self) -> float:
        """Share of the input's non-gold votes the policy never asked for."""
        return 1.0 - float(self.taken.sum()) / max(self.votes_total, 1)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        table = self.votes.table
        flagged = np.flatnonzero(self.flagged_at >= 0)
        return {
            "policy": self.policy.kind,
            "min_votes": self.policy.min_votes,
            "max_votes": self.policy.max_votes,
            "confidence": self.policy.confidence,
            "votes_total": self.votes_total,
            "votes_taken": int(self.taken.sum()),
            "votes_used": int(self.counted.sum()),
            "saved_fraction": round(self.saved_fraction, 4),
            "images": int((self.votes.gold_label < 0).sum()),
            "gold_images": int((self.votes.gold_label >= 0).sum()),
            "annotators_kept": int(self.estimate.kept.sum()),
            "flagged_annotators": [
                {
                    "annotator": _plain(table.annotator_ids[i]),
                    "reason": str(self.flag_reason[i]),
                    "answers_before_flag": int(self.flagged_at[i]),
                    "votes_before_flag": int(self.flagged_votes[i]),
                }
                for i in flagged
            ],
        }


def stream_order(votes: ReplayVotes, *, seed: int) -> np.ndarray:
    """``(n_votes,)`` vote indices in arrival order (see the module docstring)."""
    table = votes.table
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(table.n_votes)
    by_image = np.lexsort((tiebreak, table.image))
    first = np.searchsorted(table.image[by_image], np.arange(table.n_images))
    rank = np.empty(table.n_votes)
    rank[by_image] = np.arange(table.n_votes) - first[table.image[by_image]]
    rounds = max(int(rank.max()) + 1, 1) if table.n_votes else 1
    moment = rng.random(table.n_votes)
    key = np.where(votes.is_gold_vote, moment * rounds, rank + moment)
    return np.argsort(key, kind="stable")


def replay(
    votes: ReplayVotes,
    *,
    policy: AllocationPolicy,
    rules: SpammerRules | None = None,
    seed: int = 0,
    order: np.ndarray | None = None,
    step: int | None = None,
    refit_every: int | None = None,
    check_growth: float = 0.02,
    weigh: bool = True,
    method: str = "glad",
    progress: Progress | None = None,
) -> ReplayResult:
    """Replay ``votes`` (see the module docstring). ``order``: arrival order of the votes
    (default :func:`stream_order`). Raises ``ValueError`` on bad settings.

    Every ``step`` answers (default: three per annotator) the stopping rule looks at the images
    that changed; the spammer rules run at the first step after ``max(step, check_growth *
    answers so far)`` more answers (often at first, when it matters most, then less often: their
    cost grows with the answers so far); the live GLAD update and the prior refit run every
    ``refit_every`` answers (default: one per image, like a beat task every few minutes, but at
    least every twentieth of the answers, so that a small project's live weights are not a third
    of the project behind, as they were on the public product set with one refit per image).
    ``weigh=False`` feeds the stopping rule raw vote counts instead of reliability-weighted ones
    (the plain rule, for comparison).
    """
    rules = rules or SpammerRules()
    say = progress or (lambda message: None)
    table = votes.table
    n_votes, n_img, n_ann, k = table.n_votes, table.n_images, table.n_annotators, table.n_classes
    order = stream_order(votes, seed=seed) if order is None else np.asarray(order, dtype=np.int64)
    if order.shape != (n_votes,) or not np.array_equal(np.sort(order), np.arange(n_votes)):
        raise ValueError("order must be a permutation of the votes")
    regular = votes.gold_label < 0
    step = step or max(3 * n_ann, 100)
    refit_every = refit_every or max(1000, min(int(regular.sum()), n_votes // 20))
    if step < 1 or refit_every < 1 or check_growth < 0:
        raise ValueError("step and refit_every must be positive, check_growth not negative")
    rng = np.random.default_rng([seed, 1])
    gold_vote = votes.is_gold_vote
    cell = table.image * k + table.label
    answered = np.zeros(n_votes, dtype=bool)  # answers given so far (taken votes and gold answers)
    taken = np.zeros(n_votes, dtype=bool)
    flagged_at = np.full(n_ann, -1, dtype=np.int64)
    flag_reason = np.full(n_ann, "", dtype=object)
    counted_per_image = np.zeros(n_img, dtype=np.int64)
    weighted = np.zeros(n_img * k)  # reliability-weighted counts of the counted votes, flat (image, class)
    positive = np.zeros(n_img)  # counted votes of positive weight per image
    retired = ~regular  # gold images never collect counted votes
    live: LiveState | None = None
    prior = VotePrior.uniform(k)
    weight = np.ones(n_ann)
    seconds: list[float] = []
    since_refit, next_check = refit_every, 0  # refit and check at the first step
    arrival = np.empty(n_votes, dtype=np.int64)
    arrival[order] = np.arange(n_votes)
    report = _empty_report(n_ann)

    def scaled() -> np.ndarray:
        counts = np.maximum(weighted.reshape(n_img, k), 0.0)  # no -1e-17 left by subtractions
        totals = counts.sum(axis=1)
        factor = np.divide(positive, totals, out=np.zeros(n_img), where=totals > 0)
        return counts * factor[:, None]

    for start in range(0, n_votes, step):
        chunk = order[start : start + step]
        ann, img = table.annotator[chunk], table.image[chunk]
        ok = flagged_at[ann] < 0
        candidate = np.flatnonzero(ok & ~gold_vote[chunk] & ~retired[img])
        # Within the chunk, an image takes votes in arrival order up to max_votes.
        room = policy.max_votes - counted_per_image[img[candidate]]
        accept = chunk[candidate[_cumcount(img[candidate]) < room]]
        taken[accept] = True
        answered[accept] = True
        answered[chunk[gold_vote[chunk] & ok]] = True
        np.add.at(counted_per_image, table.image[accept], 1)
        w = weight[table.annotator[accept]]
        np.add.at(weighted, cell[accept], w)
        np.add.at(positive, table.image[accept], (w > 0).astype(np.float64))
        touched = np.unique(table.image[accept])
        since_refit += chunk.shape[0]
        done = start + chunk.shape[0]

        if since_refit >= refit_every:
            c_idx = np.flatnonzero(taken & (flagged_at[table.annotator] < 0))
            if c_idx.shape[0]:
                sub = live_table(
                    table.annotator[c_idx],
                    table.image[c_idx],
                    table.label[c_idx],
                    n_annotators=n_ann,
                    n_images=n_img,
                    classes=table.classes,
                )
                live = live_update(sub, live)
                seconds.append(live.seconds)
                weight = live.weight if weigh else np.ones(n_ann)
                w = weight[table.annotator[c_idx]]
                weighted = np.bincount(cell[c_idx], weights=w, minlength=n_img * k).astype(np.float64)
                positive = np.bincount(table.image[c_idx], weights=(w > 0), minlength=n_img).astype(np.float64)
                if policy.prior == "fitted":
                    prior = VotePrior.fit(scaled()[regular], start=prior)
            since_refit = 0

        if done >= next_check or done == n_votes:
            next_check = done + max(step, int(check_growth * done))
            counts = scaled()
            a_idx = np.flatnonzero(answered)
            a_idx = a_idx[np.argsort(arrival[a_idx], kind="stable")]
            counted_now = taken[a_idx] & (flagged_at[table.annotator[a_idx]] < 0)
            own = (counted_now & (weight[table.annotator[a_idx]] > 0)).astype(np.float64)
            report = spammer_report(
                annotator=table.annotator[a_idx],
                label=table.label[a_idx],
                predictive=vote_predictive(
                    counts,
                    table.image[a_idx],
                    table.label[a_idx],
                    own,
                    base_rate_prior(counts[regular], prior.alpha.sum()),
                ),
                gold_label=votes.gold_label[table.image[a_idx]],
                time_ms=None if votes.time_ms is None else votes.time_ms[a_idx],
                n_annotators=n_ann,
                n_classes=k,
                rules=rules,
            )
            new = report.flagged & (flagged_at < 0)
            if new.any():
                lost = np.flatnonzero(taken & new[table.annotator])
                flagged_at[new] = report.answers[new]
                flag_reason[new] = report.reason[new]
                w = weight[table.annotator[lost]]
                np.subtract.at(counted_per_image, table.image[lost], 1)
                np.subtract.at(weighted, cell[lost], w)
                np.subtract.at(positive, table.image[lost], (w > 0).astype(np.float64))
                touched = np.union1d(touched, np.unique(table.image[lost]))
                retired[touched] = False
                say(f"flagged {int(new.sum())} annotator(s) after {done} answers")
        if touched.shape[0]:
            retired[touched] = settled(
                scaled()[touched],
                counted_per_image[touched],
                policy=policy,
                prior=prior,
                classes=table.classes,
                rng=rng,
            )

    counted = taken & (flagged_at[table.annotator] < 0)
    say(f"{int(taken.sum())} of {int((~gold_vote).sum())} votes taken; fitting {method} on {int(counted.sum())}")
    c_idx = np.flatnonzero(counted)
    final_table = VoteTable(
        annotator=table.annotator[c_idx],
        image=table.image[c_idx],
        label=table.label[c_idx],
        annotator_ids=table.annotator_ids,
        image_ids=table.image_ids,
        classes=table.classes,
    )
    if final_table.n_votes == 0:
        raise ValueError("no counted votes are left after the spammer rules")
    result = estimate(final_table, method=method)
    return ReplayResult(
        votes=votes,
        policy=policy,
        rules=rules,
        taken=taken,
        counted=counted,
        votes_used=np.bincount(final_table.image, minlength=n_img),
        flagged_at=flagged_at,
        flagged_votes=np.bincount(table.annotator[taken], minlength=n_ann),
        flag_reason=flag_reason.astype(str),
        report=report,
        estimate=result,
        live_seconds=tuple(seconds),
    )


def _cumcount(keys: np.ndarray) -> np.ndarray:
    """``(n,)`` how many earlier entries share each entry's key."""
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    group_start = np.repeat(starts, np.diff(np.append(starts, keys.shape[0])))
    out = np.empty(keys.shape[0], dtype=np.int64)
    out[order] = np.arange(keys.shape[0]) - group_start
    return out


def _empty_report(n_annotators: int) -> SpammerReport:
    zeros = np.zeros(n_annotators, dtype=np.int64)
    return SpammerReport(
        flagged=np.zeros(n_annotators, dtype=bool),
        reason=np.full(n_annotators, "", dtype=str),
        answers=zeros,
        random_llr=np.zeros(n_annotators),
        straight_llr=np.zeros(n_annotators),
        gold_answers=zeros,
        gold_correct=zeros,
        median_time_ms=np.full(n_annotators, np.nan),
    )


def _plain(value: Any) -> Any:
    """A numpy scalar id as a plain Python value (for JSON and dict keys)."""
    return value.item() if hasattr(value, "item") else value

"""Live reliability: a few warm-started GLAD iterations on the votes collected so far.

The offline run (:func:`reliability.pipeline.estimate`) fits GLAD from scratch, filters
annotators and refits. While a project is collecting votes the platform (a beat task) and the
replay need the same quantities every few thousand votes, cheaply: this module continues EM from
the previous state (``alpha`` and ``log beta``; the image posteriors are recomputed from them
first, since new votes have arrived), runs at most
``iterations`` EM iterations, and applies the same filtering rule without a refit. The weights it
returns, ``max(alpha_i, 0)`` for kept annotators and 0 otherwise, are the ones the paper's ground
truth uses, so the adaptive stopping rule sees the distribution the final run will produce.

Indices are stable across updates: annotator ``i`` and image ``j`` keep their index as votes
arrive (annotators and images without votes yet are allowed), so a state can seed the next one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from reliability.filtering import FilterRule
from reliability.glad import GLAD, _initial_beta, run_em
from reliability.result import expected_accuracy, majority_posterior
from reliability.votes import VoteTable


@dataclass(frozen=True)
class LiveState:
    """One live update's outcome.

    Attributes:
        alpha: ``(n_annotators,)`` GLAD reliability (prior mean where an annotator has no vote).
        log_beta: ``(n_images,)``.
        posterior: ``(n_images, K)`` true-class posterior.
        accuracy: ``(n_annotators,)`` expected accuracy (NaN without votes).
        kept: ``(n_annotators,)`` bool, the filtering rule's verdict.
        weight: ``(n_annotators,)`` ``max(alpha, 0)`` where kept, else 0.
        iterations: EM iterations run by this update.
        seconds: wall time of this update.
    """

    alpha: np.ndarray
    log_beta: np.ndarray
    posterior: np.ndarray
    accuracy: np.ndarray
    kept: np.ndarray
    weight: np.ndarray
    iterations: int
    seconds: float


def live_table(
    annotator: np.ndarray, image: np.ndarray, label: np.ndarray, *, n_annotators: int, n_images: int, classes: tuple
) -> VoteTable:
    """A :class:`VoteTable` over stable index spaces ``0..n_annotators-1`` and ``0..n_images-1``
    (the ids are the indices; rows without votes are allowed)."""
    return VoteTable(
        annotator=np.asarray(annotator, dtype=np.int64),
        image=np.asarray(image, dtype=np.int64),
        label=np.asarray(label, dtype=np.int64),
        annotator_ids=np.arange(n_annotators),
        image_ids=np.arange(n_images),
        classes=tuple(classes),
    )


def live_update(
    table: VoteTable,
    previous: LiveState | None = None,
    *,
    iterations: int = 3,
    rule: FilterRule | None = None,
    tol: float = 1e-5,
) -> LiveState:
    """Continue GLAD's EM from ``previous`` (or the paper's initialisation) on ``table``.

    At most ``iterations`` iterations (the first update, without a previous state, runs up to
    ``4 * iterations``); stops early once no posterior probability moves by more than ``tol``.
    Raises ``ValueError`` when ``previous`` does not match the table's sizes.
    """
    started = time.perf_counter()
    rule = rule or FilterRule()
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    n_ann, n_img = table.n_annotators, table.n_images
    objective = GLAD().objective(table)  # the offline estimator's priors and precision
    if previous is None:
        posterior = majority_posterior(objective.counts)
        alpha = np.ones(n_ann)
        u = np.log(_initial_beta(objective.counts, "entropy"))
        budget = 4 * iterations
    else:
        if previous.alpha.shape != (n_ann,) or previous.posterior.shape != (n_img, table.n_classes):
            raise ValueError("the previous live state does not match this vote table's annotators and images")
        alpha, u = previous.alpha.copy(), previous.log_beta.copy()
        budget = iterations
    if previous is not None:
        # The stored posterior is stale for images that got votes since: recompute it from the
        # warm parameters first. Starting the M-step from a uniform posterior on new votes would
        # push alpha below chance, into GLAD's label-flipped mode, and warm starts never leave it.
        log_post, _ = objective.e_step(
            objective.state(alpha, u), np.log(np.full(table.n_classes, 1.0 / table.n_classes))
        )
        posterior = np.exp(log_post)
    run = run_em(objective, posterior, alpha, u, max_iter=budget, tol=tol)
    alpha, u, posterior, done = run.alpha, run.u, run.posterior, len(run.history)
    accuracy = expected_accuracy(table.annotator, table.image, table.label, posterior, n_ann)
    votes = table.votes_per_annotator()
    kept = rule.keep(accuracy, votes, table.n_classes) if table.n_votes else np.zeros(n_ann, dtype=bool)
    weight = np.where(kept, np.clip(alpha, 0.0, None), 0.0)
    return LiveState(
        alpha=alpha,
        log_beta=u,
        posterior=posterior,
        accuracy=accuracy,
        kept=kept,
        weight=weight,
        iterations=done,
        seconds=time.perf_counter() - started,
    )

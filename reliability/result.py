"""What every estimator hands back: a frozen result, plus the shared warning and helpers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from reliability.votes import VoteTable


class ConvergenceWarning(UserWarning):
    """An estimator stopped at its iteration cap before its tolerance was met."""


@dataclass(frozen=True)
class EstimateResult:
    """The outcome of fitting one estimator to a :class:`~reliability.votes.VoteTable`.

    Attributes:
        method: ``"glad"``, ``"ds"``, ``"onecoin"`` or ``"mv"``.
        labels: ``(n_images,)`` int64, the most probable class of each image.
        posterior: ``(n_images, n_classes)`` float64, posterior class probabilities (rows sum to 1).
        reliability: ``(n_annotators,)`` float64; GLAD's alpha, Dawid-Skene's and one-coin's
            accuracy, or agreement with the majority for majority vote.
        accuracy: ``(n_annotators,)`` float64, each annotator's expected accuracy: the mean over
            their votes of the posterior probability that the vote is the true class.
        difficulty: ``(n_images,)`` float64 (GLAD's ``1 / beta``) or None for other methods.
        class_prior: ``(n_classes,)`` float64.
        log_likelihood: objective after each iteration (non-decreasing for the EM methods).
        n_iter: EM iterations run.
        converged: whether the tolerance was met before the iteration cap.
    """

    method: str
    labels: np.ndarray
    posterior: np.ndarray
    reliability: np.ndarray
    accuracy: np.ndarray
    difficulty: np.ndarray | None
    class_prior: np.ndarray
    log_likelihood: tuple[float, ...]
    n_iter: int
    converged: bool


def expected_accuracy(
    annotator: np.ndarray, image: np.ndarray, label: np.ndarray, posterior: np.ndarray, n_annotators: int
) -> np.ndarray:
    """Mean over each annotator's votes of ``posterior[image, label]``: ``(n_annotators,)``.

    Annotators without votes get NaN.
    """
    hit = posterior[image, label]
    total = np.bincount(annotator, weights=hit, minlength=n_annotators)
    votes = np.bincount(annotator, minlength=n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(votes > 0, total / np.maximum(votes, 1), np.nan)


def majority_posterior(counts: np.ndarray) -> np.ndarray:
    """One-hot majority vote per image, ties shared equally: ``(n_images, n_classes)``.

    Images without votes get a uniform row.
    """
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max(axis=1, keepdims=True)
    winners = (counts == top).astype(np.float64)
    return winners / winners.sum(axis=1, keepdims=True)


def log_normalise(log_joint: np.ndarray) -> tuple[np.ndarray, float]:
    """E-step normalisation shared by the EM estimators: ``log_joint`` ``(n_images, K)`` ->
    (log posterior ``(n_images, K)``, total log evidence)."""
    # numpy's own log-sum-exp: scipy.special.logsumexp costs ~15 ms a call at RAF scale in its
    # array-API dispatch, more than the E-step itself, and importing it costs ~0.3 s per process.
    top = log_joint.max(axis=1, keepdims=True)  # (n_images, 1)
    top = np.where(np.isfinite(top), top, 0.0)
    norm = (top + np.log(np.exp(log_joint - top).sum(axis=1, keepdims=True)))[:, 0]  # (n_images,)
    return log_joint - norm[:, None], float(norm.sum())


def has_converged(history: list[float], *, tol: float, n_votes: int) -> bool:
    """True when the last iteration gained less than ``tol`` log-likelihood per vote."""
    return len(history) > 1 and history[-1] - history[-2] < tol * max(n_votes, 1)


def warn_unconverged(name: str, *, max_iter: int, tol: float) -> None:
    """The :class:`ConvergenceWarning` of an estimator that hit its iteration cap; it points at
    the caller of ``fit``."""
    warnings.warn(
        f"{name} stopped after {max_iter} iterations without meeting tol={tol}", ConvergenceWarning, stacklevel=3
    )


def smoothed_class_prior(posterior: np.ndarray) -> np.ndarray:
    """The class prior's M-step: each class's posterior mass plus one pseudo-vote (a
    Dirichlet(2) prior, so every class stays possible), normalised: ``(n_classes,)``."""
    totals = posterior.sum(axis=0) + 1.0
    return totals / totals.sum()


class FittedEM:
    """The fitted attributes every EM estimator sets at the end of ``fit``, and its ``result_``."""

    method: str
    posterior_: np.ndarray
    labels_: np.ndarray
    class_prior_: np.ndarray
    log_likelihood_: list[float]
    n_iter_: int
    converged_: bool
    result_: EstimateResult

    def _store_fit(
        self,
        *,
        table: VoteTable,
        posterior: np.ndarray,
        prior: np.ndarray,
        reliability: np.ndarray,
        difficulty: np.ndarray | None,
        history: list[float],
        converged: bool,
        method: str | None = None,
    ) -> None:
        self.posterior_ = posterior
        self.labels_ = posterior.argmax(axis=1)
        self.class_prior_ = prior
        self.log_likelihood_ = history
        self.n_iter_ = len(history)
        self.converged_ = converged
        self.result_ = EstimateResult(
            method=method or self.method,
            labels=self.labels_,
            posterior=posterior,
            reliability=reliability,
            accuracy=expected_accuracy(table.annotator, table.image, table.label, posterior, table.n_annotators),
            difficulty=difficulty,
            class_prior=prior,
            log_likelihood=tuple(history),
            n_iter=self.n_iter_,
            converged=converged,
        )

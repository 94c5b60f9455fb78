"""Majority vote behind the estimator interface (the baseline every method must beat)."""

from __future__ import annotations

import numpy as np

from reliability.result import EstimateResult, expected_accuracy
from reliability.votes import VoteTable


def _weighted_vote(table: VoteTable, weights: np.ndarray, method: str) -> EstimateResult:
    """One pass of weighted voting: the posterior ``(n_images, K)`` is the ``weights``-weighted
    vote proportions (uniform for an image without weight), labels their argmax (ties go to the
    lower class index), and each annotator's reliability their agreement rate with those labels."""
    k = table.n_classes
    counts = np.bincount(table.image * k + table.label, weights=weights[table.annotator], minlength=table.n_images * k)
    counts = counts.reshape(table.n_images, k)
    totals = counts.sum(axis=1, keepdims=True)
    posterior = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 1.0 / k)
    labels = posterior.argmax(axis=1)
    agree = labels[table.image] == table.label
    votes = table.votes_per_annotator()
    reliability = np.bincount(table.annotator, weights=agree, minlength=table.n_annotators) / np.maximum(votes, 1)
    return EstimateResult(
        method=method,
        labels=labels,
        posterior=posterior,
        reliability=reliability,
        accuracy=expected_accuracy(table.annotator, table.image, table.label, posterior, table.n_annotators),
        difficulty=None,
        class_prior=posterior.mean(axis=0),
        log_likelihood=(),
        n_iter=0,
        converged=True,
    )


class _OnePass:
    """Shared estimator surface of the one-pass methods (no iteration, always converged)."""

    method = ""

    def __init__(self) -> None:
        pass

    def _store(self, result: EstimateResult) -> None:
        self.posterior_ = result.posterior
        self.labels_ = result.labels
        self.reliability_ = result.reliability
        self.n_iter_ = 0
        self.converged_ = True
        self.result_ = result


class MajorityVote(_OnePass):
    """Plain majority vote. The posterior is the vote proportions; ``labels_`` is their argmax
    (ties go to the lower class index). ``reliability_`` is each annotator's agreement rate with
    the majority label.
    """

    method = "mv"

    def fit(self, table: VoteTable) -> MajorityVote:
        self._store(_weighted_vote(table, np.ones(table.n_annotators), self.method))
        return self


class Wawa(_OnePass):
    """Worker agreement with aggregate (Wawa): a majority vote weighted by each annotator's
    agreement rate with the plain majority vote.

    One pass, no iteration: ``w_i`` is :class:`MajorityVote`'s reliability (the share of ``i``'s
    votes that match the majority label); the posterior is the ``w``-weighted vote proportions
    ``(n_images, K)`` and ``labels_`` their argmax (ties go to the lower class index). A cheap
    step up from majority vote that discounts annotators who often disagree with the crowd.
    """

    method = "wawa"

    def fit(self, table: VoteTable) -> Wawa:
        self.weights_ = MajorityVote().fit(table).reliability_
        self._store(_weighted_vote(table, self.weights_, self.method))
        return self

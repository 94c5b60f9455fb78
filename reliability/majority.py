"""Majority vote behind the estimator interface (the baseline every method must beat)."""

from __future__ import annotations

import numpy as np

from reliability.result import EstimateResult, expected_accuracy
from reliability.votes import VoteTable


class MajorityVote:
    """Plain majority vote. The posterior is the vote proportions; ``labels_`` is their argmax
    (ties go to the lower class index). ``reliability_`` is each annotator's agreement rate with
    the majority label.
    """

    method = "mv"

    def __init__(self) -> None:
        pass

    def fit(self, table: VoteTable) -> MajorityVote:
        counts = table.counts().astype(np.float64)
        totals = counts.sum(axis=1, keepdims=True)
        k = table.n_classes
        posterior = np.where(totals > 0, counts / np.maximum(totals, 1), 1.0 / k)
        labels = posterior.argmax(axis=1)
        agree = labels[table.image] == table.label
        votes = table.votes_per_annotator()
        reliability = np.bincount(table.annotator, weights=agree, minlength=table.n_annotators) / np.maximum(votes, 1)
        self.posterior_ = posterior
        self.labels_ = labels
        self.reliability_ = reliability
        self.n_iter_ = 0
        self.converged_ = True
        self.result_ = EstimateResult(
            method=self.method,
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
        return self


class Wawa:
    """Worker agreement with aggregate (Wawa): a majority vote weighted by each annotator's
    agreement rate with the plain majority vote.

    One pass, no iteration: ``w_i`` is :class:`MajorityVote`'s reliability (the share of ``i``'s
    votes that match the majority label); the posterior is the ``w``-weighted vote proportions
    ``(n_images, K)`` and ``labels_`` their argmax (ties go to the lower class index). A cheap
    step up from majority vote that discounts annotators who often disagree with the crowd.
    """

    method = "wawa"

    def __init__(self) -> None:
        pass

    def fit(self, table: VoteTable) -> Wawa:
        weights = MajorityVote().fit(table).reliability_
        k = table.n_classes
        cell = table.image * k + table.label
        counts = np.bincount(cell, weights=weights[table.annotator], minlength=table.n_images * k)
        counts = counts.reshape(table.n_images, k)
        totals = counts.sum(axis=1, keepdims=True)
        posterior = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 1.0 / k)
        labels = posterior.argmax(axis=1)
        agree = labels[table.image] == table.label
        votes = table.votes_per_annotator()
        reliability = np.bincount(table.annotator, weights=agree, minlength=table.n_annotators) / np.maximum(votes, 1)
        self.weights_ = weights
        self.posterior_ = posterior
        self.labels_ = labels
        self.reliability_ = reliability
        self.n_iter_ = 0
        self.converged_ = True
        self.result_ = EstimateResult(
            method=self.method,
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
        return self

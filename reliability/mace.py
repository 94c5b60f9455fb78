"""MACE-style estimator (Hovy et al., NAACL 2013): each annotator either answers right or
"spams" with probability ``theta_i``, picking class ``l`` from their own strategy ``xi_i[l]``.

``p(t | y = k) = (1 - theta_i) [t = k] + theta_i xi_i[t]``. EM with MAP smoothing (Beta prior
``(spam_prior_a, spam_prior_b)`` on ``theta``, a symmetric Dirichlet pseudo-count on ``xi``),
vectorised over the vote table with ``np.bincount``. ``reliability_`` is ``1 - theta``.
"""

from __future__ import annotations

import numpy as np

from reliability.result import (
    FittedEM,
    has_converged,
    log_normalise,
    majority_posterior,
    smoothed_class_prior,
    warn_unconverged,
)
from reliability.votes import VoteTable


class MACE(FittedEM):
    """Competence/spam-strategy model. Learned: ``theta_`` (M,), ``strategy_`` (M, K),
    ``reliability_`` (M,) = ``1 - theta_``, plus the common ``posterior_``, ``labels_``,
    ``class_prior_``, ``log_likelihood_``, ``n_iter_``, ``converged_`` and ``result_``."""

    method = "mace"

    def __init__(
        self,
        *,
        tol: float = 1e-6,
        max_iter: int = 100,
        spam_prior_a: float = 0.5,
        spam_prior_b: float = 0.5,
        strategy_smoothing: float = 0.1,
    ) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.spam_prior_a = spam_prior_a
        self.spam_prior_b = spam_prior_b
        self.strategy_smoothing = strategy_smoothing

    def fit(self, table: VoteTable) -> MACE:
        ann, img, lab = table.annotator, table.image, table.label
        n_ann, n_img, k = table.n_annotators, table.n_images, table.n_classes
        cell = img * k + lab
        counts = table.counts()
        votes = np.bincount(ann, minlength=n_ann).astype(np.float64)
        posterior = majority_posterior(counts)
        theta = np.full(n_ann, 0.5)
        strategy = np.full((n_ann, k), 1.0 / k)
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            # M-step: responsibility that each vote was a spam answer.
            q = posterior.ravel()[cell]  # (n_votes,) P(y = t)
            spam_hit = theta[ann] * strategy[ann, lab]
            spam = (1.0 - q) + q * spam_hit / (spam_hit + 1.0 - theta[ann])
            theta = (np.bincount(ann, weights=spam, minlength=n_ann) + self.spam_prior_a) / (
                votes + self.spam_prior_a + self.spam_prior_b
            )
            strat = np.bincount(ann * k + lab, weights=spam, minlength=n_ann * k).reshape(n_ann, k).astype(np.float64)
            strat = strat + self.strategy_smoothing
            strategy = strat / strat.sum(axis=1, keepdims=True)
            prior = smoothed_class_prior(posterior)
            # E-step.
            spam_hit = theta[ann] * strategy[ann, lab]
            log_wrong = np.log(spam_hit)
            log_right = np.log(spam_hit + 1.0 - theta[ann])
            base = np.bincount(img, weights=log_wrong, minlength=n_img)
            bonus = np.bincount(cell, weights=log_right - log_wrong, minlength=n_img * k).reshape(n_img, k)
            log_joint = bonus + base[:, None] + np.log(prior)[None, :]
            log_posterior, evidence = log_normalise(log_joint)
            posterior = np.exp(log_posterior)
            history.append(evidence + self._log_prior_density(theta, strategy, prior))
            if has_converged(history, tol=self.tol, n_votes=table.n_votes):
                converged = True
                break
        if not converged:
            warn_unconverged("MACE", max_iter=self.max_iter, tol=self.tol)
        self.theta_ = theta
        self.strategy_ = strategy
        self.reliability_ = 1.0 - theta
        self._store_fit(
            table=table,
            posterior=posterior,
            prior=prior,
            reliability=self.reliability_,
            difficulty=None,
            history=history,
            converged=converged,
        )
        return self

    def _log_prior_density(self, theta: np.ndarray, strategy: np.ndarray, prior: np.ndarray) -> float:
        value = self.spam_prior_a * np.log(theta).sum() + self.spam_prior_b * np.log1p(-theta).sum()
        value += self.strategy_smoothing * np.log(strategy).sum() + np.log(prior).sum()
        return float(value)

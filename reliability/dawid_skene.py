"""Dawid-Skene (full confusion matrix per annotator) and its one-coin special case.

Both are EM over the vote table, vectorised with ``np.bincount`` (no Python loop over votes,
images or annotators; loops run over the K classes at most):

- E-step: ``log Q_j(k) = log prior_k + sum_{votes v of j} log pi_{a(v)}[k, t_v]``.
- M-step (MAP): ``pi_i[k, l]`` is proportional to ``smoothing + sum_{votes of i with t = l}
  Q_j(k)``, i.e. a symmetric Dirichlet prior on each confusion row; for one-coin, each annotator
  has one accuracy ``p_i`` (Beta prior) and spreads errors uniformly over the other classes,
  MACE-like. Smoothing keeps annotators with few votes from getting degenerate (0/1) rows.

Initialisation: ``Q`` is the majority vote (ties shared). The reported log-likelihood is the
marginal log-likelihood of the votes plus the log prior density; it never decreases.
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


class DawidSkene(FittedEM):
    """Dawid-Skene estimator.

    Args:
        tol: stop when the objective gains less than ``tol`` per vote.
        max_iter: iteration cap (:class:`ConvergenceWarning` when reached).
        smoothing: Dirichlet pseudo-count added to every confusion-matrix cell (``> 0``); the
            diagonal gets ``diagonal_smoothing`` more, a mild belief that annotators are better
            than chance.
        one_coin: one accuracy per annotator instead of a full confusion matrix.

    Learned: ``confusion_`` (M, K, K) rows = true class, ``reliability_`` (M,) expected accuracy
    under the class prior, ``posterior_``, ``labels_``, ``class_prior_``, ``log_likelihood_``,
    ``n_iter_``, ``converged_``, ``result_``.
    """

    method = "ds"

    def __init__(
        self,
        *,
        tol: float = 1e-6,
        max_iter: int = 100,
        smoothing: float = 1.0,
        diagonal_smoothing: float = 0.0,
        one_coin: bool = False,
    ) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.smoothing = smoothing
        self.diagonal_smoothing = diagonal_smoothing
        self.one_coin = one_coin

    def fit(self, table: VoteTable) -> DawidSkene:
        if self.smoothing <= 0 or self.diagonal_smoothing < 0:
            raise ValueError("smoothing must be positive and diagonal_smoothing non-negative")
        ann, img, lab = table.annotator, table.image, table.label
        n_ann, n_img, k = table.n_annotators, table.n_images, table.n_classes
        classes = np.arange(k)
        # For each vote and each candidate true class k: the flat index of (annotator, k, label).
        conf_index = (ann * (k * k) + lab)[:, None] + (classes * k)[None, :]  # (n_votes, K)
        cell = (img * k)[:, None] + classes[None, :]  # (n_votes, K) flat index of (image, k)
        posterior = majority_posterior(table.counts())
        history: list[float] = []
        converged = False
        eye = np.eye(k)
        for _ in range(self.max_iter):
            # M-step.
            weights = posterior[img]  # (n_votes, K)
            soft = np.bincount(conf_index.ravel(), weights=weights.ravel(), minlength=n_ann * k * k)
            soft = soft.reshape(n_ann, k, k).astype(np.float64)
            if self.one_coin:
                right = np.einsum("ikk->i", soft) + self.smoothing + self.diagonal_smoothing
                total = soft.sum(axis=(1, 2)) + 2 * self.smoothing + self.diagonal_smoothing
                p = right / total
                confusion = np.where(eye[None], p[:, None, None], ((1 - p) / (k - 1))[:, None, None])
            else:
                smoothed = soft + self.smoothing + self.diagonal_smoothing * eye[None]
                confusion = smoothed / smoothed.sum(axis=2, keepdims=True)
            prior = smoothed_class_prior(posterior)
            log_conf = np.log(confusion)
            # E-step.
            per_vote = log_conf.reshape(-1)[conf_index]  # (n_votes, K): log pi[a, k, t]
            log_joint = np.bincount(cell.ravel(), weights=per_vote.ravel(), minlength=n_img * k).reshape(n_img, k)
            log_joint += np.log(prior)[None, :]
            log_posterior, evidence = log_normalise(log_joint)
            posterior = np.exp(log_posterior)
            history.append(evidence + self._log_prior_density(confusion, prior, eye))
            if has_converged(history, tol=self.tol, n_votes=table.n_votes):
                converged = True
                break
        if not converged:
            warn_unconverged("Dawid-Skene", max_iter=self.max_iter, tol=self.tol)
        reliability = np.einsum("ikk,k->i", confusion, prior)
        self.confusion_ = confusion
        self.reliability_ = reliability
        self._store_fit(
            table=table,
            posterior=posterior,
            prior=prior,
            reliability=reliability,
            difficulty=None,
            history=history,
            converged=converged,
            method="onecoin" if self.one_coin else self.method,
        )
        return self

    def _log_prior_density(self, confusion: np.ndarray, prior: np.ndarray, eye: np.ndarray) -> float:
        k = prior.shape[0]
        if self.one_coin:
            p = confusion[:, 0, 0]
            value = np.sum((self.smoothing + self.diagonal_smoothing) * np.log(p))
            value += np.sum(self.smoothing * np.log1p(-p + 1e-300))
        else:
            value = np.sum((self.smoothing + self.diagonal_smoothing * eye[None]) * np.log(confusion))
        del k
        return float(value + np.log(prior).sum())


class OneCoin(DawidSkene):
    """Dawid-Skene with one accuracy per annotator (errors uniform over the other classes)."""

    method = "onecoin"

    def __init__(
        self, *, tol: float = 1e-6, max_iter: int = 100, smoothing: float = 1.0, diagonal_smoothing: float = 1.0
    ) -> None:
        super().__init__(
            tol=tol, max_iter=max_iter, smoothing=smoothing, diagonal_smoothing=diagonal_smoothing, one_coin=True
        )

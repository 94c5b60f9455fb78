"""Hierarchical Dawid-Skene: full confusion matrices shrunk towards each annotator's own coarse model.

Plain Dawid-Skene gives annotator ``i`` a full ``K x K`` confusion matrix ``pi_i``; with a few
dozen votes per annotator most of its cells are noise, and a symmetric Dirichlet smoothing
pulls every row towards *uniform*, i.e. towards "this annotator guesses". MACE and one-coin
models have the opposite problem: two numbers per annotator cannot express systematic
confusions (grade 3 read as grade 4, fear read as surprise). This estimator nests the two:

- level 1 (coarse, per annotator): accuracy ``p_i`` and an answer strategy ``xi_i`` (the
  annotator's own label frequencies), giving the MACE-like matrix
  ``m_i[k, l] = p_i [l = k] + (1 - p_i) xi_i[l]``;
- level 2 (full): each confusion row ``pi_i[k, :] ~ Dirichlet(floor + strength * K * m_i[k, :])``:
  ``strength`` and ``floor`` are pseudo-counts per cell, so the prior weighs the same against an
  annotator's votes whatever the number of classes ``K``.

An annotator with few votes is judged by the coarse model, one with many votes by their own
full matrix; ``floor`` keeps a little of Dawid-Skene's uniform smoothing so an annotator whose
coarse model is wrong is not locked into it.

EM, vectorised over the vote table: the votes are one sparse ``(M*K, J)`` indicator matrix ``A``
(row ``(annotator, voted label)``, column image), so each step is one sparse product with a
``(J, K)`` or ``(M*K, K)`` dense matrix (about 0.03 s per iteration at RAF scale, 1.2 M votes):

- M-step: the expected confusion counts ``n_i[k, l] = sum_{votes of i with t = l} Q_j(k)``;
  level 1 from them in closed form (``p_i = (trace n_i + 1) / (sum n_i + 2)``, ``xi_i`` the
  column sums plus one pseudo-vote per class); then the MAP confusion
  ``pi_i[k, l] oc n_i[k, l] + floor + strength * K * m_i[k, l]``; class prior smoothed as in the
  other estimators.
- E-step: ``log Q_j(k) = log prior_k + sum_{votes v of j} log pi_{a(v)}[k, t_v]``.

Level 1 is fitted from the expected counts and then held fixed as the prior's centre for
level 2 (an empirical-Bayes plug-in, not a joint MAP over both levels), so the objective is not
guaranteed monotone; EM therefore stops on the largest change of any posterior probability
(``tol``), and ``log_likelihood_`` records the marginal log-likelihood of the votes under each
iteration's parameters for inspection.

The two hyper-parameters were chosen by leave-one-dataset-out over the six public crowds in
``../shared/crowd-data/`` (``bench/em_accuracy.py``, protocol in docs/reliability.md); the
defaults are the setting that the same criterion picks on all six together.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from reliability.result import (
    FittedEM,
    log_normalise,
    majority_posterior,
    smoothed_class_prior,
    warn_unconverged,
)
from reliability.votes import VoteTable


class HierarchicalDawidSkene(FittedEM):
    """Dawid-Skene with each annotator's confusion shrunk towards their MACE-like coarse model.

    Args:
        strength: Dirichlet pseudo-count per cell given to the coarse model (each confusion row
            gets ``strength * K`` in all; ``>= 0``; 0 is plain Dawid-Skene with smoothing ``floor``).
        floor: uniform Dirichlet pseudo-count per cell (``> 0``).
        tol: stop when no posterior probability moves by more than ``tol`` in an iteration.
        max_iter: iteration cap (:class:`ConvergenceWarning` when reached).
        posterior_init: ``(J, K)`` posterior to start from instead of the majority vote (as
            scikit-learn's ``GaussianMixture(means_init=...)``); the pipeline's refit without
            the dropped annotators starts from the first fit's posterior, which roughly halves
            its iterations.

    Learned: ``confusion_`` (M, K, K) rows = true class, ``coarse_accuracy_`` (M,) ``p_i``,
    ``strategy_`` (M, K) ``xi_i``, ``reliability_`` (M,) expected accuracy under the class
    prior, and the common ``posterior_``, ``labels_``, ``class_prior_``, ``log_likelihood_``,
    ``n_iter_``, ``converged_``, ``result_``.
    """

    method = "hds"

    def __init__(
        self,
        *,
        strength: float = 0.25,
        floor: float = 0.25,
        tol: float = 1e-6,
        max_iter: int = 1000,
        posterior_init: np.ndarray | None = None,
    ) -> None:
        self.strength = strength
        self.floor = floor
        self.tol = tol
        self.max_iter = max_iter
        self.posterior_init = posterior_init

    def fit(self, table: VoteTable) -> HierarchicalDawidSkene:
        if not (self.floor > 0 and self.strength >= 0):
            raise ValueError("floor must be positive and strength non-negative")
        if not (self.tol > 0 and self.max_iter >= 1):
            raise ValueError("tol must be positive and max_iter at least 1")
        n_ann, n_img, k = table.n_annotators, table.n_images, table.n_classes
        eye = np.eye(k)
        # A[(annotator, voted label), image] = 1 for each vote: (M*K, J); its transpose (J, M*K).
        votes = sparse.csr_matrix(
            (np.ones(table.n_votes), (table.annotator * k + table.label, table.image)), shape=(n_ann * k, n_img)
        )
        votes_t = votes.T.tocsr()
        if self.posterior_init is None:
            posterior = majority_posterior(table.counts())  # (J, K)
        else:
            posterior = np.asarray(self.posterior_init, dtype=np.float64)
            if posterior.shape != (n_img, k) or not np.allclose(posterior.sum(axis=1), 1.0):
                raise ValueError(f"posterior_init must be ({n_img}, {k}) with rows summing to 1")
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            # (M*K_voted, K_true) -> (M, K_true, K_voted): expected counts n_i[true, voted].
            soft = np.asarray(votes @ posterior).reshape(n_ann, k, k).transpose(0, 2, 1)
            accuracy = (np.einsum("ikk->i", soft) + 1.0) / (soft.sum(axis=(1, 2)) + 2.0)  # (M,)
            strategy = soft.sum(axis=1) + 1.0
            strategy /= strategy.sum(axis=1, keepdims=True)  # (M, K)
            coarse = accuracy[:, None, None] * eye[None] + (1.0 - accuracy)[:, None, None] * strategy[:, None, :]
            confusion = soft + self.floor + (self.strength * k) * coarse
            confusion /= confusion.sum(axis=2, keepdims=True)  # (M, K, K)
            prior = smoothed_class_prior(posterior)
            log_voted = np.log(confusion).transpose(0, 2, 1).reshape(n_ann * k, k)  # (M*K_voted, K_true)
            log_joint = np.asarray(votes_t @ log_voted) + np.log(prior)[None, :]  # (J, K)
            log_posterior, evidence = log_normalise(log_joint)
            updated = np.exp(log_posterior)
            history.append(evidence)
            change = float(np.abs(updated - posterior).max())
            posterior = updated
            if change < self.tol:
                converged = True
                break
        if not converged:
            warn_unconverged("Hierarchical Dawid-Skene", max_iter=self.max_iter, tol=self.tol)
        reliability = np.einsum("ikk,k->i", confusion, prior)
        self.confusion_ = confusion
        self.coarse_accuracy_ = accuracy
        self.strategy_ = strategy
        self.reliability_ = reliability
        self._store_fit(
            table=table,
            posterior=posterior,
            prior=prior,
            reliability=reliability,
            difficulty=None,
            history=history,
            converged=converged,
        )
        return self

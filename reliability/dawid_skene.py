"""Dawid-Skene (full confusion matrix per annotator) and its one-coin special case.

Both are EM over the vote table, vectorised as sparse products with the ``(M*K, J)`` vote
indicator matrix (no Python loop over votes, images or annotators), and accelerated by SQUAREM:

- E-step: ``log Q_j(k) = log prior_k + sum_{votes v of j} log pi_{a(v)}[k, t_v]``.
- M-step (MAP): ``pi_i[k, l]`` is proportional to ``smoothing + sum_{votes of i with t = l}
  Q_j(k)``, i.e. a symmetric Dirichlet prior on each confusion row; for one-coin, each annotator
  has one accuracy ``p_i`` (Beta prior) and spreads errors uniformly over the other classes,
  MACE-like. Smoothing keeps annotators with few votes from getting degenerate (0/1) rows.

Initialisation: ``Q`` is the majority vote (ties shared). The reported log-likelihood is the
marginal log-likelihood of the votes plus the log prior density; it never decreases.
``max_iter`` caps the EM steps computed (a SQUAREM cycle, ``accelerate=True``, is three).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

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
        accelerate: SQUAREM extrapolation between EM steps (off by default). Why plain EM can
            need hundreds of steps: it converges linearly at the rate of the missing information,
            which on sparse crowds (hundreds of annotators, 2-3 votes per item, weak annotators)
            is close to 1; a simulated 4-class crowd of 3,000 items, 300 annotators and 2 votes
            each needs 279 plain steps. The cap is therefore 1,000 steps (each is two sparse
            products: about 1 ms at that size, 0.04 s at RAF scale). SQUAREM climbs to a higher
            objective on such crowds, but on degenerate ones (an image with one vote) its jumps
            reach MAP points whose labels disagree with the only vote, so it stays opt-in; on
            the six public sets plain EM converges in 9-31 steps either way.

    Learned: ``confusion_`` (M, K, K) rows = true class, ``reliability_`` (M,) expected accuracy
    under the class prior, ``posterior_``, ``labels_``, ``class_prior_``, ``log_likelihood_``
    (one entry per plain step or SQUAREM cycle), ``n_iter_`` (its length), ``n_em_steps_`` (EM
    steps computed, three per cycle), ``converged_``, ``result_``.
    """

    method = "ds"

    def __init__(
        self,
        *,
        tol: float = 1e-6,
        max_iter: int = 1000,
        smoothing: float = 1.0,
        diagonal_smoothing: float = 0.0,
        one_coin: bool = False,
        accelerate: bool = False,
    ) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.smoothing = smoothing
        self.diagonal_smoothing = diagonal_smoothing
        self.one_coin = one_coin
        self.accelerate = accelerate

    def fit(self, table: VoteTable) -> DawidSkene:
        if self.smoothing <= 0 or self.diagonal_smoothing < 0:
            raise ValueError("smoothing must be positive and diagonal_smoothing non-negative")
        n_ann, n_img, k = table.n_annotators, table.n_images, table.n_classes
        eye = np.eye(k)
        # A[(annotator, voted label), image] = 1 for each vote: (M*K, J); its transpose (J, M*K).
        votes = sparse.csr_matrix(
            (np.ones(table.n_votes), (table.annotator * k + table.label, table.image)), shape=(n_ann * k, n_img)
        )
        votes_t = votes.T.tocsr()

        def em_step(posterior: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
            """One M-step from ``posterior`` (J, K) and the E-step after it: the new posterior,
            the penalised log-likelihood, the confusion (M, K, K) and the class prior (K,)."""
            soft = np.asarray(votes @ posterior).reshape(n_ann, k, k).transpose(0, 2, 1)  # n_i[true, voted]
            if self.one_coin:
                right = np.einsum("ikk->i", soft) + self.smoothing + self.diagonal_smoothing
                total = soft.sum(axis=(1, 2)) + 2 * self.smoothing + self.diagonal_smoothing
                p = right / total
                confusion = np.where(eye[None], p[:, None, None], ((1 - p) / (k - 1))[:, None, None])
            else:
                smoothed = soft + self.smoothing + self.diagonal_smoothing * eye[None]
                confusion = smoothed / smoothed.sum(axis=2, keepdims=True)
            prior = smoothed_class_prior(posterior)
            log_voted = np.log(confusion).transpose(0, 2, 1).reshape(n_ann * k, k)  # (M*K_voted, K_true)
            log_joint = np.asarray(votes_t @ log_voted) + np.log(prior)[None, :]  # (J, K)
            log_posterior, evidence = log_normalise(log_joint)
            objective = evidence + self._log_prior_density(confusion, prior, eye)
            return np.exp(log_posterior), objective, confusion, prior

        start = majority_posterior(table.counts())
        posterior, objective, confusion, prior = em_step(start)
        history = [objective]
        steps = 1
        converged = False
        while steps < self.max_iter:
            if self.accelerate and steps + 3 <= self.max_iter:
                state, steps = self._squarem_cycle(em_step, start, posterior, objective), steps + 3
            else:
                state, steps = em_step(posterior), steps + 1
            start = posterior
            posterior, objective, confusion, prior = state
            history.append(objective)
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
        self.n_em_steps_ = steps
        return self

    @staticmethod
    def _squarem_cycle(
        em_step: Callable[[np.ndarray], tuple[np.ndarray, float, np.ndarray, np.ndarray]],
        previous: np.ndarray,
        current: np.ndarray,
        objective: float,
    ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """One SQUAREM cycle (Varadhan and Roland 2008, scheme S3) on the posterior, EM's state:
        two EM steps give the direction, a squared extrapolation jumps along it, one more EM step
        stabilises. The jump is kept only if it does not lower the objective below the plain
        second step's, so the objective still never decreases."""
        plain = em_step(current)
        r = current - previous  # (J, K) first difference
        v = plain[0] - current - r  # second difference
        v_norm = float(np.sqrt(np.sum(v * v)))
        if v_norm == 0.0:
            return plain
        alpha = min(-float(np.sqrt(np.sum(r * r))) / v_norm, -1.0)
        jumped = previous - 2.0 * alpha * r + alpha * alpha * v
        jumped = np.clip(jumped, 0.0, None)
        totals = jumped.sum(axis=1, keepdims=True)
        jumped = np.where(totals > 0, jumped / np.where(totals > 0, totals, 1.0), plain[0])
        stabilised = em_step(jumped)
        return stabilised if stabilised[1] >= plain[1] and stabilised[1] >= objective else plain

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
        self, *, tol: float = 1e-6, max_iter: int = 1000, smoothing: float = 1.0, diagonal_smoothing: float = 1.0
    ) -> None:
        super().__init__(
            tol=tol, max_iter=max_iter, smoothing=smoothing, diagonal_smoothing=diagonal_smoothing, one_coin=True
        )

"""The whole reliability procedure of the paper in one call: estimate, filter annotators,
re-estimate without them, weight the kept votes into distributions, measure agreement.

Two per-image outputs come out of it and must not be confused:

- ``posterior`` and ``labels``: the estimator's own posterior over the true class, fitted on
  all annotators (the estimator already discounts unreliable ones), and its argmax. This is the
  published label: the estimate of the true class that the method's model stands behind
  (``bench/em_accuracy.py`` scores both against gold).
- ``distribution``: the paper's ``g``, the reliability-weighted votes of the kept annotators,
  normalised. It is a distribution of *perception*, not of belief about one true class, and it
  alone drives the basic/compound partition exactly as the paper defines it.

Used by the CLI and by the platform's reliability runs, so both give the same numbers.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from reliability.agreement import cronbach_alpha, krippendorff_alpha
from reliability.dawid_skene import DawidSkene, OneCoin
from reliability.distribution import ground_truth
from reliability.filtering import FilterRule
from reliability.glad import GLAD
from reliability.hierarchical_ds import HierarchicalDawidSkene
from reliability.mace import MACE
from reliability.majority import MajorityVote, Wawa
from reliability.result import EstimateResult
from reliability.votes import VoteTable

ESTIMATORS: dict[str, type] = {
    "hds": HierarchicalDawidSkene,
    "glad": GLAD,
    "ds": DawidSkene,
    "onecoin": OneCoin,
    "mace": MACE,
    "mv": MajorityVote,
    "wawa": Wawa,
}
METHODS = tuple(ESTIMATORS)
# The method used when none is named: chosen by leave-one-dataset-out over the public crowds
# (docs/reliability.md, "Choosing the default"); the paper's GLAD stays available as "glad".
DEFAULT_METHOD = "hds"
Progress = Callable[[float, str], None]


def make_estimator(method: str, params: dict[str, Any] | None = None) -> Any:
    """An unfitted estimator for ``method`` with keyword ``params``; ``ValueError`` when unknown."""
    if method not in ESTIMATORS:
        raise ValueError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    try:
        return ESTIMATORS[method](**(params or {}))
    except TypeError as exc:
        raise ValueError(f"bad parameters for {method}: {exc}") from exc


@dataclass(frozen=True)
class ReliabilityEstimate:
    """Everything a reliability run produces.

    Attributes:
        table: the votes it used.
        method: estimator name.
        initial: the fit on all annotators (used to decide whom to drop).
        final: the fit on the kept annotators (same image indices as ``table``).
        kept: ``(n_annotators,)`` bool.
        reliability: ``(n_annotators,)``; from ``final`` for kept annotators, ``initial`` for dropped.
        accuracy: ``(n_annotators,)`` expected accuracy from ``initial`` (what the rule judged).
        votes: ``(n_annotators,)`` int64 votes each.
        posterior: ``(n_images, K)`` the estimator's posterior over the true class (``initial``,
            all annotators): the published belief.
        labels: ``(n_images,)`` argmax of ``posterior``: the published label.
        distribution: ``(n_images, K)`` the paper's g (kept annotators, reliability-weighted);
            drives the basic/compound partition.
        counts: ``(n_images, K)`` raw vote counts (all annotators).
        difficulty: ``(n_images,)`` or None.
        threshold: the accuracy threshold the filtering rule applied.
        cronbach_alpha, krippendorff_alpha: agreement over all votes.
        seconds: wall time.
    """

    table: VoteTable
    method: str
    initial: EstimateResult
    final: EstimateResult
    kept: np.ndarray
    reliability: np.ndarray
    accuracy: np.ndarray
    votes: np.ndarray
    posterior: np.ndarray
    labels: np.ndarray
    distribution: np.ndarray
    counts: np.ndarray
    difficulty: np.ndarray | None
    threshold: float
    cronbach_alpha: float
    krippendorff_alpha: float
    seconds: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready metrics."""
        return {
            "method": self.method,
            "label_source": "posterior",
            "iterations": int(self.initial.n_iter + self.final.n_iter),
            "converged": bool(self.initial.converged and self.final.converged),
            "log_likelihood": (self.final.log_likelihood[-1] if self.final.log_likelihood else None),
            "cronbach_alpha": _finite(self.cronbach_alpha),
            "krippendorff_alpha": _finite(self.krippendorff_alpha),
            "annotators": int(self.table.n_annotators),
            "annotators_kept": int(self.kept.sum()),
            "filter_threshold": float(self.threshold),
            "images": int(self.table.n_images),
            "votes": int(self.table.n_votes),
            "seconds": round(self.seconds, 3),
        }


def estimate(
    table: VoteTable,
    *,
    method: str = DEFAULT_METHOD,
    params: dict[str, Any] | None = None,
    rule: FilterRule | None = None,
    progress: Progress | None = None,
) -> ReliabilityEstimate:
    """Fit, filter, refit and weight (see the module docstring)."""
    started = time.perf_counter()
    rule = rule or FilterRule()
    report = progress or (lambda fraction, message: None)
    report(0.0, f"fitting {method} on {table.n_votes} votes")
    initial = make_estimator(method, params).fit(table).result_
    votes = table.votes_per_annotator()
    threshold = rule.threshold(initial.accuracy, table.n_classes)
    kept = rule.keep(initial.accuracy, votes, table.n_classes)
    if not kept.any():
        raise ValueError("the filtering rule drops every annotator")
    report(0.5, f"kept {int(kept.sum())} of {table.n_annotators} annotators; refitting")
    if kept.all():
        final = initial
        reliability = initial.reliability
    else:
        refit_params = dict(params or {})
        if "posterior_init" in inspect.signature(ESTIMATORS[method]).parameters:
            # Same images, fewer annotators: start where the first fit ended.
            refit_params.setdefault("posterior_init", initial.posterior)
        final = make_estimator(method, refit_params).fit(table.subset_annotators(kept)).result_
        reliability = initial.reliability.copy()
        reliability[kept] = final.reliability
    weights = np.ones(table.n_annotators) if method == "mv" else reliability
    distribution = ground_truth(table, weights, kept)
    report(0.9, "measuring agreement")
    result = ReliabilityEstimate(
        table=table,
        method=method,
        initial=initial,
        final=final,
        kept=kept,
        reliability=reliability,
        accuracy=initial.accuracy,
        votes=votes,
        posterior=initial.posterior,
        labels=initial.labels,
        distribution=distribution,
        counts=table.counts(),
        difficulty=final.difficulty,
        threshold=threshold,
        cronbach_alpha=cronbach_alpha(table),
        krippendorff_alpha=krippendorff_alpha(table),
        seconds=time.perf_counter() - started,
    )
    report(1.0, "done")
    return result


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None

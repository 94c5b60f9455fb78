"""Which annotators to drop before the final estimate (the paper kept 285 of 315).

The rule, on each annotator's *expected accuracy* (the mean over their votes of the posterior
probability that the vote is the true class; defined the same way for every estimator):

    keep annotator i  iff  votes_i >= min_votes  and  accuracy_i >= threshold,
    threshold = min_accuracy if given, else chance + fraction * (median accuracy - chance),

with ``chance = 1 / K``. The default ``fraction = 0.5`` drops annotators who are less than half
as far above chance as the typical annotator: spammers (near chance), adversarial annotators
(below chance) and the clearly careless, while it scales to easy and hard projects alike. The
median annotator is always kept, so the rule never empties the crowd.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FilterRule:
    """Settings of the filtering rule (see the module docstring)."""

    fraction: float = 0.5
    min_accuracy: float | None = None
    min_votes: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError("fraction must lie in [0, 1]")
        if self.min_accuracy is not None and not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError("min_accuracy must lie in [0, 1]")
        if self.min_votes < 1:
            raise ValueError("min_votes must be at least 1")

    def threshold(self, accuracy: np.ndarray, n_classes: int) -> float:
        if self.min_accuracy is not None:
            return self.min_accuracy
        chance = 1.0 / n_classes
        valid = accuracy[np.isfinite(accuracy)]
        if valid.shape[0] == 0:
            return chance
        return chance + self.fraction * (float(np.median(valid)) - chance)

    def keep(self, accuracy: np.ndarray, votes: np.ndarray, n_classes: int) -> np.ndarray:
        """``(n_annotators,)`` bool: who stays, from ``accuracy`` and ``votes`` ``(n_annotators,)``."""
        accuracy = np.asarray(accuracy, dtype=np.float64)
        keep = (np.asarray(votes) >= self.min_votes) & np.isfinite(accuracy)
        return keep & (np.nan_to_num(accuracy, nan=-1.0) >= self.threshold(accuracy, n_classes) - 1e-12)

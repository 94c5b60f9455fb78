"""How well published labels match gold labels: accuracy with a Wilson 95% confidence interval.

A project's gold images (or a researcher's ``gold.csv``) are the one evidence of label accuracy
that needs no model: the estimator never sees their gold labels, so the share of them its
labels get right is an honest estimate of its accuracy on images like them. With a few dozen
gold images that estimate is wide, so it always travels with its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class GoldScore:
    """Accuracy of labels on gold items.

    Attributes:
        n: gold items scored.
        correct: of them, labelled as the gold label says.
        accuracy: ``correct / n``.
        low, high: Wilson score 95% interval for the accuracy.
    """

    n: int
    correct: int
    accuracy: float
    low: float
    high: float

    def as_metrics(self) -> dict[str, float | int | list[float]]:
        """JSON-ready figures for a run's metrics."""
        return {
            "gold_images": self.n,
            "gold_correct": self.correct,
            "gold_accuracy": round(self.accuracy, 4),
            "gold_accuracy_ci95": [round(self.low, 4), round(self.high, 4)],
        }


def gold_score(predicted: np.ndarray, gold: np.ndarray) -> GoldScore:
    """Score ``predicted`` ``(n,)`` class indices against ``gold`` ``(n,)``; ``ValueError`` when
    the shapes differ or there is nothing to score."""
    predicted = np.asarray(predicted)
    gold = np.asarray(gold)
    if predicted.shape != gold.shape or predicted.ndim != 1:
        raise ValueError("predicted and gold labels must be two one-dimensional arrays of the same length")
    n = int(gold.shape[0])
    if n == 0:
        raise ValueError("no gold items to score")
    correct = int(np.sum(predicted == gold))
    low, high = wilson_interval(correct, n)
    return GoldScore(n=n, correct=correct, accuracy=correct / n, low=low, high=high)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good coverage even near 0 and 1, unlike
    the normal approximation)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError("need 0 <= successes <= n and n > 0")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 or n successes the bound on that side is exactly the estimate; say so without rounding error.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high

from __future__ import annotations

import numpy as np
import pytest

from reliability.gold import gold_score, wilson_interval


def test_it_scores_labels_with_a_wilson_interval() -> None:
    score = gold_score(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]))
    assert (score.n, score.correct, score.accuracy) == (4, 3, 0.75)
    assert score.low == pytest.approx(0.3006, abs=1e-4) and score.high == pytest.approx(0.9544, abs=1e-4)
    assert score.as_metrics()["gold_accuracy_ci95"] == [round(score.low, 4), round(score.high, 4)]


@pytest.mark.parametrize(("successes", "n"), [(0, 10), (10, 10), (37, 40), (1, 1)])
def test_the_interval_holds_the_estimate_and_stays_in_0_1(successes: int, n: int) -> None:
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_it_refuses_nothing_to_score_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="no gold items"):
        gold_score(np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="same length"):
        gold_score(np.array([1, 2]), np.array([1]))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)

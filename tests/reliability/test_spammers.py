from __future__ import annotations

import numpy as np
import pytest

from reliability.spammers import SpammerRules, spammer_report

K = 7
RULES = SpammerRules()


def report(
    labels: list[int],
    *,
    predictive: np.ndarray | None = None,
    gold: list[int] | None = None,
    times: list[float] | None = None,
    rules: SpammerRules = RULES,
):
    n = len(labels)
    if predictive is None:
        predictive = np.full((n, K), 1.0 / K)
    return spammer_report(
        annotator=np.zeros(n, dtype=np.int64),
        label=np.array(labels),
        predictive=predictive,
        gold_label=np.array(gold if gold is not None else [-1] * n),
        time_ms=None if times is None else np.array(times, dtype=float),
        n_annotators=1,
        n_classes=K,
        rules=rules,
    )


def confident(truth: list[int]) -> np.ndarray:
    """Predictives of images whose other votes agree on ``truth`` (0.85 on it)."""
    q = np.full((len(truth), K), 0.15 / (K - 1))
    q[np.arange(len(truth)), truth] = 0.85
    return q


def test_it_flags_random_answers_against_confident_images() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, K, size=30).tolist()
    got = report(rng.integers(0, K, size=30).tolist(), predictive=confident(truth))
    assert got.flagged[0] and got.reason[0] == "random answers"


def test_it_keeps_a_careless_but_honest_annotator() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, K, size=200)
    labels = np.where(rng.random(200) < 0.5, truth, (truth + rng.integers(1, K, size=200)) % K)  # half right
    got = report(labels.tolist(), predictive=confident(truth.tolist()))
    assert not got.flagged[0] and got.random_llr[0] > 0


def test_it_flags_wrong_gold_answers_without_any_other_votes() -> None:
    got = report([1] * 12, gold=[0, 2, 3, 4, 5, 6, 0, 2, 3, 4, 5, 6])
    assert got.flagged[0] and got.gold_answers[0] == 12 and got.gold_correct[0] == 0


def test_it_flags_one_key_pressed_again_and_again() -> None:
    got = report([3] * 15)
    assert got.flagged[0] and got.reason[0] == "straight-lining"


def test_a_run_of_the_right_label_is_not_straight_lining() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, K, size=60)
    truth[20:30] = 3  # ten happy faces in a row, labelled right
    got = report(truth.tolist(), predictive=confident(truth.tolist()))
    assert not got.flagged[0]


def test_it_flags_answers_faster_than_anyone_can_look() -> None:
    got = report([0, 1, 2, 3, 4, 5, 6, 0, 1, 2], times=[0.0] * 10)
    assert got.flagged[0] and got.reason[0] == "answer time"
    assert got.median_time_ms[0] == 0.0


def test_it_judges_nobody_before_the_minimum_number_of_answers() -> None:
    got = report([3] * 9, times=[0.0] * 9)
    assert not got.flagged[0]


@pytest.mark.parametrize("field", ["honest_accuracy", "stick"])
def test_it_refuses_probabilities_outside_zero_one(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SpammerRules(**{field: 1.0})

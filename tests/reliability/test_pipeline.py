from __future__ import annotations

import numpy as np
import pytest

from reliability.distribution import ground_truth
from reliability.filtering import FilterRule
from reliability.pipeline import estimate, make_estimator
from reliability.simulation import simulate_crowd
from reliability.votes import VoteTable


def test_ground_truth_weights_votes_by_reliability_and_ignores_dropped_annotators() -> None:
    table = VoteTable.from_arrays([1, 2, 3], [1, 1, 1], [0, 1, 2])
    g = ground_truth(table, np.array([2.0, 1.0, 5.0]), kept=np.array([True, True, False]))
    assert g[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0, 0, 0, 0])


def test_ground_truth_clips_negative_reliability_and_falls_back_to_raw_counts() -> None:
    table = VoteTable.from_arrays([1, 2], [1, 1], [0, 1])
    g = ground_truth(table, np.array([-1.0, 0.0]))
    assert g[0].tolist() == pytest.approx([0.5, 0.5, 0, 0, 0, 0, 0])


def test_the_filter_threshold_sits_halfway_between_chance_and_the_median() -> None:
    accuracy = np.array([0.9, 0.8, 0.7, 0.2, np.nan])
    rule = FilterRule()
    assert rule.threshold(accuracy, 4) == pytest.approx(0.25 + 0.5 * (0.75 - 0.25))
    assert rule.keep(accuracy, np.array([5, 5, 5, 5, 0]), 4).tolist() == [True, True, True, False, False]
    assert FilterRule(min_accuracy=0.75).keep(accuracy, np.full(5, 5), 4).tolist()[:3] == [True, True, False]


def test_filtering_drops_spammers_and_adversaries_and_keeps_the_others() -> None:
    crowd = simulate_crowd(
        n_images=3000, n_annotators=80, votes_per_image=10, spammer_fraction=0.1, adversarial_fraction=0.05, seed=2
    )
    table = VoteTable.from_arrays(crowd.annotator, crowd.image, crowd.label)
    result = estimate(table, method="glad")
    bad = crowd.kind != "normal"
    assert not result.kept[bad].any()
    assert result.kept[~bad].mean() > 0.85
    assert crowd.label_accuracy(result.labels) >= crowd.label_accuracy(table.counts().argmax(axis=1))
    summary = result.summary()
    assert summary["annotators_kept"] == int(result.kept.sum())
    assert 0 < summary["cronbach_alpha"] < 1


def test_it_rejects_an_unknown_method_or_parameter() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        make_estimator("em")
    with pytest.raises(ValueError, match="bad parameters"):
        make_estimator("glad", {"speed": 3})

from __future__ import annotations

import numpy as np
import pytest

from reliability.glad import GLAD
from reliability.live import live_table, live_update
from reliability.simulation import simulate_crowd


def test_warm_updates_reach_glads_labels_and_weigh_spammers_out() -> None:
    crowd = simulate_crowd(n_images=1500, n_annotators=60, votes_per_image=12, spammer_fraction=0.15, seed=6)
    table = live_table(crowd.annotator, crowd.image, crowd.label, n_annotators=60, n_images=1500, classes=crowd.classes)
    half = table.n_votes // 2
    early = live_table(
        crowd.annotator[:half],
        crowd.image[:half],
        crowd.label[:half],
        n_annotators=60,
        n_images=1500,
        classes=crowd.classes,
    )
    state = live_update(early)
    for _ in range(3):
        state = live_update(table, state)
    assert state.iterations <= 3
    reference = GLAD().fit(table)
    assert np.mean(state.posterior.argmax(axis=1) == reference.labels_) > 0.99
    spam = crowd.kind == "spammer"
    assert np.all(state.weight[spam] == 0.0) and np.all(state.weight[~spam & (crowd.kind == "normal")] > 0)


def test_annotators_and_images_without_votes_yet_are_allowed() -> None:
    table = live_table([0, 1, 0], [0, 0, 1], [3, 3, 2], n_annotators=5, n_images=4, classes=tuple("abcdefg"))
    state = live_update(table)
    assert state.weight.shape == (5,) and np.isnan(state.accuracy[4])
    assert state.posterior.shape == (4, 7)


def test_a_previous_state_of_another_shape_is_refused() -> None:
    small = live_table([0], [0], [1], n_annotators=1, n_images=1, classes=("a", "b"))
    large = live_table([0, 1], [0, 1], [1, 0], n_annotators=2, n_images=2, classes=("a", "b"))
    with pytest.raises(ValueError, match="does not match"):
        live_update(large, live_update(small))

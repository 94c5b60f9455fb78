from __future__ import annotations

import numpy as np
import pytest

from reliability.simulation import simulate_crowd


def test_it_gives_each_image_distinct_annotators_and_is_seeded() -> None:
    crowd = simulate_crowd(n_images=500, n_annotators=30, votes_per_image=12, seed=9)
    pairs = crowd.annotator * 500 + crowd.image
    assert np.unique(pairs).shape[0] == pairs.shape[0]
    assert np.bincount(crowd.image).tolist() == [12] * 500
    again = simulate_crowd(n_images=500, n_annotators=30, votes_per_image=12, seed=9)
    assert (again.label == crowd.label).all()


def test_it_makes_spammers_near_chance_and_adversaries_below_it() -> None:
    crowd = simulate_crowd(
        n_images=4000,
        n_annotators=50,
        votes_per_image=10,
        spammer_fraction=0.2,
        adversarial_fraction=0.1,
        compound_fraction=0.0,
        seed=1,
    )
    accuracy = crowd.true_accuracy
    assert accuracy[crowd.kind == "spammer"].mean() == pytest.approx(1 / 7, abs=0.03)
    assert accuracy[crowd.kind == "adversarial"].max() < 1 / 7
    assert accuracy[crowd.kind == "normal"].mean() > 0.4


def test_compound_images_have_two_true_classes() -> None:
    crowd = simulate_crowd(n_images=300, n_annotators=20, votes_per_image=5, compound_fraction=1.0, seed=0)
    assert (crowd.second_label >= 0).all() and (crowd.second_label != crowd.true_label).all()


def test_it_refuses_more_votes_per_image_than_annotators() -> None:
    with pytest.raises(ValueError, match="cannot exceed"):
        simulate_crowd(n_images=10, n_annotators=3, votes_per_image=4)

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


def test_it_follows_given_true_labels_and_confusions() -> None:
    true = np.array([6] * 50 + [3] * 50)  # neutral, then happiness
    confusion = np.ones((7, 7))
    confusion[6, 4] = 50.0  # a neutral face read as sad, far more than anything else
    crowd = simulate_crowd(
        n_images=100, n_annotators=30, votes_per_image=20, spammer_fraction=0.0, adversarial_fraction=0.0,
        compound_fraction=0.0, true_label=true, confusion=confusion, seed=3,
    )  # fmt: skip
    assert (crowd.true_label == true).all() and (crowd.second_label == -1).all()
    wrong_on_neutral = crowd.label[(crowd.label != 6) & (true[crowd.image] == 6)]
    assert np.mean(wrong_on_neutral == 4) > 0.7
    majority = np.array([np.bincount(crowd.label[crowd.image == j], minlength=7).argmax() for j in range(100)])
    assert np.mean(majority == true) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"true_label": np.array([7] * 10)}, "one class index per image"),
        ({"true_label": np.array([0] * 9)}, "one class index per image"),
        ({"confusion": np.eye(7)}, "off the diagonal"),
        ({"confusion": -np.ones((7, 7))}, "non-negative"),
    ],
)
def test_it_refuses_bad_true_labels_and_confusions(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_crowd(n_images=10, n_annotators=5, votes_per_image=3, **kwargs)

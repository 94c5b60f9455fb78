from __future__ import annotations

import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS, COMPOUND_EMOTIONS
from reliability.subsets import basic_labels, compound_pairs, partition, stratified_split

S, F, D, H, SA, A, N = range(7)  # surprise, fear, disgust, happiness, sadness, anger, neutral


def dist(**weights: float) -> np.ndarray:
    g = np.zeros(7)
    for name, value in weights.items():
        g[BASIC_EMOTIONS.index(name)] = value
    return g / g.sum()


def test_one_label_above_the_mean_makes_a_basic_image() -> None:
    g = np.stack([dist(happiness=0.8, surprise=0.1, neutral=0.1), dist(neutral=0.9, anger=0.1)])
    assert basic_labels(g).tolist() == [H, N]


def test_two_labels_above_the_mean_are_not_basic() -> None:
    assert basic_labels(dist(happiness=0.5, surprise=0.5)[None]).tolist() == [-1]


def test_a_label_exactly_at_the_mean_is_not_valid() -> None:
    g = np.full((1, 7), 1 / 7)
    assert basic_labels(g).tolist() == [-1]


def test_two_labels_above_the_mean_without_neutral_make_a_compound_pair() -> None:
    g = dist(happiness=0.45, surprise=0.35, neutral=0.2)[None]
    assert sorted(compound_pairs(g)[0].tolist()) == sorted([H, S])
    assert compound_pairs(g)[0].tolist() == [H, S]  # larger first


def test_neutral_is_removed_before_the_compound_rule() -> None:
    # With neutral, three labels are above 1/7; without it, two are above the mean of six.
    g = dist(sadness=0.35, anger=0.3, neutral=0.3, fear=0.05)[None]
    assert compound_pairs(g)[0].tolist() == [SA, A]


def test_three_labels_above_the_mean_are_neither_subset() -> None:
    g = dist(sadness=0.3, anger=0.3, fear=0.3, neutral=0.1)[None]
    assert compound_pairs(g)[0].tolist() == [-1, -1]
    assert partition(g, min_class_size=0).subset.tolist() == [""]


def test_partition_names_compound_classes_in_the_papers_convention() -> None:
    g = np.stack(
        [
            dist(surprise=0.45, happiness=0.45, neutral=0.1),
            dist(disgust=0.45, anger=0.45, neutral=0.1),
            dist(fear=0.5, surprise=0.5),
        ]
    )
    part = partition(g, min_class_size=0)
    assert part.subset.tolist() == ["compound"] * 3
    assert part.name.tolist() == ["happily surprised", "angrily disgusted", "fearfully surprised"]
    assert part.label.tolist() == [COMPOUND_EMOTIONS.index(n) for n in part.name]


def test_pairs_outside_the_twelve_compound_classes_are_left_out() -> None:
    part = partition(dist(happiness=0.5, anger=0.5)[None], min_class_size=0)
    assert part.subset.tolist() == [""]


def test_an_image_with_neutral_as_its_basic_label_stays_basic() -> None:
    g = dist(neutral=0.5, sadness=0.14, anger=0.14, fear=0.08, happiness=0.08, surprise=0.06)[None]
    assert basic_labels(g).tolist() == [N]
    assert compound_pairs(g)[0].tolist() == [SA, A]
    part = partition(g, min_class_size=0)
    assert (part.subset[0], part.name[0]) == ("basic", "neutral")


def test_an_image_with_a_valid_neutral_label_is_not_compound() -> None:
    # Neutral, sadness and anger are all valid under the 7-class rule: no basic label, and the
    # two-tab pair (sadness, anger) is not used because neutral is among the valid labels.
    g = dist(sadness=0.35, anger=0.3, neutral=0.3, fear=0.05)[None]
    assert compound_pairs(g)[0].tolist() == [SA, A]
    assert partition(g, min_class_size=0).subset.tolist() == [""]
    # With neutral below the mean the same pair is compound.
    weak = dist(sadness=0.45, anger=0.4, neutral=0.1, fear=0.05)[None]
    assert partition(weak, min_class_size=0).name.tolist() == ["sadly angry"]


def test_small_classes_are_dropped() -> None:
    g = np.stack([dist(happiness=1.0)] * 5 + [dist(fear=0.5, disgust=0.5)] * 2)
    part = partition(g, min_class_size=3)
    assert part.dropped == ("fearfully disgusted",)
    assert part.subset.tolist() == ["basic"] * 5 + ["", ""]


def test_the_split_is_stratified_four_to_one_and_seeded() -> None:
    labels = np.repeat([0, 1, 2], [600, 120, 60])
    split = stratified_split(labels, seed=4)
    for cls, size in zip([0, 1, 2], [600, 120, 60], strict=True):
        assert np.sum((labels == cls) & (split == "test")) == size // 5
    assert (split == stratified_split(labels, seed=4)).all()
    assert not (split == stratified_split(labels, seed=5)).all()


def test_unlabelled_images_get_no_split() -> None:
    assert stratified_split(np.array([-1, 0, 0]), test_fraction=0.5).tolist()[0] == ""


def test_it_rejects_a_distribution_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="7 columns"):
        partition(np.ones((2, 6)))

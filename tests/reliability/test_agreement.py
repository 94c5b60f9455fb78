from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from reliability.agreement import cronbach_alpha, krippendorff_alpha
from reliability.votes import VoteTable


def test_krippendorff_matches_the_reference_implementation_with_missing_votes(hard_crowd, hard_table) -> None:
    matrix = np.full((hard_table.n_annotators, hard_table.n_images), np.nan)
    matrix[hard_table.annotator, hard_table.image] = hard_table.label
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert krippendorff_alpha(hard_table) == pytest.approx(expected, abs=1e-9)


def test_krippendorff_is_one_for_perfect_agreement_and_skips_single_votes() -> None:
    table = VoteTable.from_arrays([1, 2, 1, 2, 3], [1, 1, 2, 2, 3], [0, 0, 4, 4, 6])
    assert krippendorff_alpha(table) == pytest.approx(1.0)


def test_cronbach_is_the_anova_form_of_one_hot_votes() -> None:
    # Two images, two votes each: one-hot rows [1,0],[1,0] and [0,1],[1,0] (K = 2 classes).
    table = VoteTable.from_arrays([1, 2, 1, 2], [1, 1, 2, 2], [0, 0, 1, 0], classes=2)
    # Grand mean (0.75, 0.25); SS_total = 4 - (9 + 1) / 4 = 1.5; SS_within = 0 + (2 - 2/2) = 1.
    ms_between, ms_within = (1.5 - 1.0) / 1, 1.0 / 2
    assert cronbach_alpha(table) == pytest.approx(1 - ms_within / ms_between)


def test_cronbach_grows_with_votes_per_image_like_spearman_brown(hard_crowd) -> None:
    from reliability.simulation import simulate_crowd

    few = simulate_crowd(n_images=800, n_annotators=60, votes_per_image=4, seed=5)
    many = simulate_crowd(n_images=800, n_annotators=60, votes_per_image=40, seed=5)
    alpha_few = cronbach_alpha(VoteTable.from_arrays(few.annotator, few.image, few.label))
    alpha_many = cronbach_alpha(VoteTable.from_arrays(many.annotator, many.image, many.label))
    assert 0 < alpha_few < alpha_many < 1
    single = alpha_few / (4 - 3 * alpha_few)  # invert Spearman-Brown for k = 4
    assert alpha_many == pytest.approx(40 * single / (1 + 39 * single), abs=0.03)


def test_agreement_is_undefined_without_shared_images() -> None:
    table = VoteTable.from_arrays([1, 2], [1, 2], [0, 1])
    assert np.isnan(krippendorff_alpha(table))
    assert np.isnan(cronbach_alpha(table))

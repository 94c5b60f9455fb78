from __future__ import annotations

import numpy as np
import pytest

from reliability.dawid_skene import DawidSkene, OneCoin
from reliability.mace import MACE
from reliability.majority import MajorityVote
from reliability.votes import VoteTable


@pytest.mark.parametrize("estimator", [DawidSkene, OneCoin, MACE])
def test_it_beats_majority_vote_and_never_lowers_the_likelihood(hard_crowd, hard_table, estimator) -> None:
    model = estimator().fit(hard_table)
    mv = MajorityVote().fit(hard_table)
    assert model.converged_
    assert hard_crowd.label_accuracy(model.labels_) >= hard_crowd.label_accuracy(mv.labels_)
    assert np.diff(model.log_likelihood_).min() >= -1e-7 * abs(model.log_likelihood_[-1])
    assert np.allclose(model.posterior_.sum(axis=1), 1.0)


def test_dawid_skene_learns_confusion_rows_that_sum_to_one(hard_table) -> None:
    ds = DawidSkene().fit(hard_table)
    k = hard_table.n_classes
    assert ds.confusion_.shape == (hard_table.n_annotators, k, k)
    assert np.allclose(ds.confusion_.sum(axis=2), 1.0)


def test_majority_vote_takes_the_most_common_label_and_scores_agreement() -> None:
    table = VoteTable.from_arrays([1, 2, 3, 1, 2], [1, 1, 1, 2, 2], [3, 3, 0, 5, 5])
    mv = MajorityVote().fit(table)
    assert mv.labels_.tolist() == [3, 5]
    assert mv.reliability_.tolist() == [1.0, 1.0, 0.0]


@pytest.mark.parametrize("estimator", [MajorityVote, DawidSkene, OneCoin, MACE])
@pytest.mark.parametrize(
    ("annotators", "images", "labels"),
    [([1], [1], [3]), ([1, 1, 1], [1, 2, 3], [0, 4, 6]), ([1, 2, 3], [1, 1, 1], [2, 2, 2])],
)
def test_it_handles_degenerate_inputs(estimator, annotators, images, labels) -> None:
    table = VoteTable.from_arrays(annotators, images, labels)
    model = estimator().fit(table)
    by_image = dict(zip(images, labels, strict=True))
    assert model.labels_.tolist() == [by_image[i] for i in table.image_ids.tolist()]
    assert np.all(np.isfinite(model.result_.reliability))


def test_dawid_skene_converges_on_a_sparse_four_class_crowd() -> None:
    # Many weak annotators with two votes per item: plain EM needs a few hundred steps here,
    # more than the old cap of 100; SQUAREM gets at least as high.
    rng = np.random.default_rng(0)
    n_items, n_annotators, k = 3000, 300, 4
    truth = rng.integers(0, k, n_items)
    skill = rng.uniform(0.3, 0.8, n_annotators)
    who = np.stack([rng.choice(n_annotators, 2, replace=False) for _ in range(n_items)])  # (J, 2)
    right = rng.random(who.shape) < skill[who]
    votes = np.where(right, truth[:, None], rng.integers(0, k, who.shape))
    table = VoteTable.from_arrays(who.ravel(), np.repeat(np.arange(n_items), 2), votes.ravel(), classes=k)
    plain = DawidSkene().fit(table)
    fast = DawidSkene(accelerate=True).fit(table)
    assert plain.converged_ and fast.converged_
    assert plain.n_em_steps_ > 100
    assert fast.log_likelihood_[-1] >= plain.log_likelihood_[-1] - 1e-6 * table.n_votes
    assert np.diff(fast.log_likelihood_).min() >= 0

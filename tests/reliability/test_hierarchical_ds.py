from __future__ import annotations

import numpy as np
import pytest

from reliability.dawid_skene import DawidSkene
from reliability.hierarchical_ds import HierarchicalDawidSkene
from reliability.mace import MACE
from reliability.majority import MajorityVote
from reliability.pipeline import DEFAULT_METHOD, estimate
from reliability.votes import VoteTable


def test_it_is_the_default_method() -> None:
    assert DEFAULT_METHOD == "hds"


def confused_crowd(seed: int = 0) -> tuple[VoteTable, np.ndarray]:
    """1,000 items of 4 classes, 5 votes each from 40 annotators whose confusion rows are their
    own (Dirichlet around the diagonal), a fifth of them spammers, activity skewed."""
    rng = np.random.default_rng(seed)
    n_items, n_annotators, k = 1000, 40, 4
    truth = rng.integers(0, k, n_items)
    alpha = 0.5 + 3.0 * np.eye(k)[None] * rng.uniform(0.3, 2.0, (n_annotators, k, 1))  # (M, K, K)
    confusion = np.stack([[rng.dirichlet(row) for row in rows] for rows in alpha])
    confusion[:8] = rng.dirichlet(np.ones(k), size=(8, 1)).repeat(k, axis=1)  # spammers
    activity = rng.gamma(0.7, 1.0, n_annotators)
    who = np.stack([rng.choice(n_annotators, 5, replace=False, p=activity / activity.sum()) for _ in truth])
    votes = [[rng.choice(k, p=confusion[w, y]) for w in row] for row, y in zip(who, truth, strict=True)]
    table = VoteTable.from_arrays(who.ravel(), np.repeat(np.arange(n_items), 5), np.ravel(votes), classes=k)
    return table, truth


def test_it_matches_dawid_skene_and_beats_mace_on_annotators_with_their_own_confusions() -> None:
    table, truth = confused_crowd()
    model = HierarchicalDawidSkene().fit(table)
    assert model.converged_
    accuracy = np.mean(model.labels_ == truth)
    assert accuracy > np.mean(MajorityVote().fit(table).labels_ == truth) + 0.03
    assert accuracy >= np.mean(DawidSkene().fit(table).labels_ == truth) - 0.005
    assert accuracy > np.mean(MACE().fit(table).labels_ == truth) + 0.02
    assert np.allclose(model.posterior_.sum(axis=1), 1.0)
    assert np.allclose(model.confusion_.sum(axis=2), 1.0)
    assert model.reliability_.shape == (table.n_annotators,)


def test_it_finds_the_spammers(hard_crowd, hard_table) -> None:
    model = HierarchicalDawidSkene().fit(hard_table)
    spam, honest = hard_crowd.kind == "spammer", hard_crowd.kind == "normal"
    assert spam.any() and model.reliability_[spam].max() < model.reliability_[honest].min()


def test_without_strength_it_is_dawid_skene_with_that_smoothing(hard_table) -> None:
    hds = HierarchicalDawidSkene(strength=0.0, floor=1.0, tol=1e-9).fit(hard_table)
    ds = DawidSkene(smoothing=1.0, tol=1e-12, max_iter=1000).fit(hard_table)
    assert np.array_equal(hds.labels_, ds.labels_)
    assert np.allclose(hds.confusion_, ds.confusion_, atol=1e-4)


def test_it_learns_a_systematic_confusion_that_a_one_coin_model_cannot() -> None:
    # Annotator "c" always reads class 1 as class 2 and is right otherwise; a and b are right.
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, size=400)
    annotators, images, labels = [], [], []
    for j, y in enumerate(truth.tolist()):
        for who in ("a", "b", "c"):
            annotators.append(who)
            images.append(j)
            labels.append(2 if who == "c" and y == 1 else y)
    table = VoteTable.from_arrays(annotators, images, labels, classes=4)
    model = HierarchicalDawidSkene().fit(table)
    c = table.annotator_ids.tolist().index("c")
    assert model.confusion_[c, 1, 2] > 0.9
    assert np.array_equal(model.labels_, truth)


def test_the_refit_starts_from_the_first_fits_posterior(hard_table) -> None:
    result = estimate(hard_table)
    cold = HierarchicalDawidSkene().fit(hard_table.subset_annotators(result.kept))
    assert result.final.n_iter <= cold.n_iter_
    assert np.mean(result.final.labels == cold.labels_) > 0.95  # same optimum but for a few weak images
    assert np.array_equal(result.labels, result.initial.labels)
    assert np.array_equal(result.posterior, result.initial.posterior)


@pytest.mark.parametrize(
    ("annotators", "images", "labels"),
    [([1], [1], [3]), ([1, 1, 1], [1, 2, 3], [0, 4, 6]), ([1, 2, 3], [1, 1, 1], [2, 2, 2])],
)
def test_it_handles_degenerate_inputs(annotators, images, labels) -> None:
    table = VoteTable.from_arrays(annotators, images, labels)
    model = HierarchicalDawidSkene().fit(table)
    by_image = dict(zip(images, labels, strict=True))
    assert model.labels_.tolist() == [by_image[i] for i in table.image_ids.tolist()]
    assert np.all(np.isfinite(model.result_.reliability))


@pytest.mark.parametrize(
    "params",
    [{"floor": 0.0}, {"strength": -1.0}, {"tol": 0.0}, {"max_iter": 0}, {"posterior_init": np.ones((1, 7))}],
)
def test_it_refuses_bad_settings(params) -> None:
    table = VoteTable.from_arrays([1, 2], [1, 2], [0, 1])
    with pytest.raises(ValueError):
        HierarchicalDawidSkene(**params).fit(table)


def test_it_warns_when_it_stops_at_the_cap(hard_table) -> None:
    from reliability.result import ConvergenceWarning

    with pytest.warns(ConvergenceWarning):
        model = HierarchicalDawidSkene(max_iter=2).fit(hard_table)
    assert model.n_iter_ == 2 and not model.converged_

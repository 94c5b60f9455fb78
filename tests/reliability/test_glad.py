from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad
from scipy.stats import spearmanr

from reliability.glad import GLAD, GladObjective, _initial_beta, _labels_settled, run_em
from reliability.majority import MajorityVote
from reliability.result import ConvergenceWarning, majority_posterior
from reliability.simulation import simulate_crowd
from reliability.votes import VoteTable


def test_it_beats_majority_vote_on_a_hard_crowd(hard_crowd, hard_table) -> None:
    glad = GLAD().fit(hard_table)
    mv = MajorityVote().fit(hard_table)
    assert glad.converged_
    assert hard_crowd.label_accuracy(glad.labels_) >= hard_crowd.label_accuracy(mv.labels_)


def test_it_ranks_annotators_like_the_truth_on_a_raf_sized_crowd() -> None:
    # RAF-sized crowd of annotators (315, 40 votes per image); fewer images keep the test fast.
    crowd = simulate_crowd(n_images=6000, n_annotators=315, votes_per_image=40, seed=11)
    table = VoteTable.from_arrays(crowd.annotator, crowd.image, crowd.label, classes=crowd.classes)
    glad = GLAD().fit(table)
    normal = crowd.kind != "spammer"
    rho = spearmanr(glad.alpha_[normal], crowd.alpha[normal]).statistic
    assert rho >= 0.95
    assert crowd.label_accuracy(glad.labels_) >= crowd.label_accuracy(MajorityVote().fit(table).labels_)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_it_never_decreases_the_log_likelihood(hard_table, dtype: str) -> None:
    glad = GLAD(tol=1e-9, max_iter=30, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        glad.fit(hard_table)
    steps = np.diff(glad.log_likelihood_)
    slack = 1e-9 if dtype == "float64" else 1e-5 * abs(glad.log_likelihood_[-1])
    assert steps.min() >= -slack


def test_its_analytic_gradient_matches_finite_differences(hard_table) -> None:
    objective = GladObjective(hard_table, 1.0, 3.0, 0.3, dtype=np.float64)
    rng = np.random.default_rng(0)
    q = objective.vote_q(rng.dirichlet(np.ones(hard_table.n_classes), size=hard_table.n_images))
    n_ann = hard_table.n_annotators

    def value(theta: np.ndarray) -> float:
        return objective.value(theta[:n_ann], theta[n_ann:], q)

    def grad(theta: np.ndarray) -> np.ndarray:
        return np.concatenate(objective.gradient(theta[:n_ann], theta[n_ann:], q))

    theta = np.concatenate([rng.normal(1, 0.5, n_ann), rng.normal(0, 0.3, hard_table.n_images)])
    error = check_grad(value, grad, theta, epsilon=1e-6)
    assert error / np.linalg.norm(grad(theta)) < 1e-4


@pytest.mark.parametrize("init", ["paper", "neutral"])
def test_every_initialisation_reaches_the_same_optimum(hard_table, init: str) -> None:
    reference = GLAD(tol=1e-9, max_iter=300, dtype="float64").fit(hard_table)
    other = GLAD(tol=1e-9, max_iter=300, dtype="float64", init=init).fit(hard_table)
    assert np.mean(reference.labels_ == other.labels_) > 0.999
    assert np.allclose(reference.alpha_, other.alpha_, atol=1e-3)
    assert reference.log_likelihood_[-1] == pytest.approx(other.log_likelihood_[-1], abs=1e-3)


def test_it_warns_when_it_stops_unconverged(hard_table) -> None:
    with pytest.warns(ConvergenceWarning):
        glad = GLAD(max_iter=1).fit(hard_table)
    assert not glad.converged_ and glad.n_iter_ == 1
    assert glad.result_.n_iter == 1


@pytest.mark.parametrize(
    ("annotators", "images", "labels"),
    [
        ([1], [1], [3]),  # one vote
        ([1, 1, 1], [1, 2, 3], [0, 4, 6]),  # one annotator
        ([1, 2, 3, 1, 2, 3], [1, 1, 1, 2, 2, 2], [3, 3, 3, 5, 5, 5]),  # unanimous
    ],
)
def test_it_handles_degenerate_inputs(annotators, images, labels) -> None:
    table = VoteTable.from_arrays(annotators, images, labels)
    glad = GLAD().fit(table)
    by_image = dict(zip(images, labels, strict=True))
    assert [by_image[i] for i in table.image_ids.tolist()] == glad.labels_.tolist()
    assert np.all(np.isfinite(glad.alpha_)) and np.all(glad.beta_ > 0)
    assert np.allclose(glad.posterior_.sum(axis=1), 1.0)


def test_its_result_is_frozen(hard_table) -> None:
    result = GLAD().fit(hard_table).result_
    with pytest.raises(AttributeError):
        result.method = "x"  # type: ignore[misc]
    assert result.difficulty is not None and result.difficulty.shape == (hard_table.n_images,)


def _fully_converged(table: VoteTable) -> np.ndarray:
    """The posterior after 300 float64 EM iterations, one at a time (so no stopping rule applies)."""
    objective = GLAD(dtype="float64").objective(table)
    posterior = majority_posterior(objective.counts)
    alpha, u = np.ones(table.n_annotators), np.log(_initial_beta(objective.counts, "entropy"))
    for _ in range(300):
        run = run_em(objective, posterior, alpha, u, max_iter=1, tol=0.0)
        posterior, alpha, u = run.posterior, run.alpha, run.u
    return posterior


def test_it_stops_where_the_labels_have_settled(hard_table) -> None:
    # Stopping when the log-likelihood gained less than 1e-5 per vote left this posterior 0.02
    # from the optimum and one label wrong; the rule on the posterior itself leaves every label.
    reference = _fully_converged(hard_table)
    fit = GLAD().fit(hard_table)
    assert fit.converged_
    assert np.array_equal(fit.labels_, reference.argmax(axis=1))
    assert np.abs(fit.posterior_ - reference).max() < 5e-3


def test_labels_settled_needs_every_image_to_move_less_than_its_margin() -> None:
    posterior = np.array([[0.6, 0.4], [0.9, 0.1]])
    assert _labels_settled(posterior, np.array([0.01, 0.01]), rate=0.5)
    assert not _labels_settled(posterior, np.array([0.2, 0.0]), rate=0.5)  # 0.2 left of a 0.2 margin
    assert not _labels_settled(posterior, np.array([0.01, 0.01]), rate=0.95)  # slow: 0.19 left
    tied = np.array([[0.5, 0.5], [0.9, 0.1]])  # an exact tie that no longer moves is settled too
    assert _labels_settled(tied, np.array([0.0, 0.01]), rate=0.5)
    assert not _labels_settled(tied, np.array([1e-6, 0.01]), rate=0.5)


def _dominant_biased_crowd(seed: int = 0) -> tuple[VoteTable, np.ndarray]:
    """Two classes (65% are class 0); annotator 0 votes on every item and answers class 1 90% of
    the time whatever the truth; each item also gets two votes from a pool of 60 annotators who
    are right 65% of the time."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(600) > 0.65).astype(np.int64)
    annotator, image, label = [], [], []
    for j in range(600):
        annotator.append(0)
        image.append(j)
        label.append(int(rng.random() < 0.9))
        for h in rng.choice(60, 2, replace=False):
            annotator.append(1 + int(h))
            image.append(j)
            label.append(int(truth[j]) if rng.random() < 0.65 else 1 - int(truth[j]))
    table = VoteTable.from_arrays(np.array(annotator), np.array(image), np.array(label), classes=("a", "b"))
    return table, truth


def test_a_second_start_escapes_a_label_flipped_optimum() -> None:
    # From the majority vote, EM trusts the annotator who is in every item and flips most labels:
    # a local optimum below majority vote. Started from hierarchical Dawid-Skene's posterior it
    # reaches a higher penalised likelihood, and GLAD keeps that fit.
    table, truth = _dominant_biased_crowd()
    majority = np.mean(MajorityVote().fit(table).labels_ == truth)
    one = GLAD(second_start=False).fit(table)
    two = GLAD().fit(table)
    assert np.mean(one.labels_ == truth) < majority
    assert two.start_ == "hds"
    assert two.start_objectives_["hds"] > two.start_objectives_["majority"] + 1.0
    assert two.log_likelihood_[-1] == two.start_objectives_["hds"]
    assert np.mean(two.labels_ == truth) > majority + 0.03


def test_the_majority_start_is_kept_when_both_reach_the_same_optimum(hard_table) -> None:
    glad = GLAD().fit(hard_table)
    assert set(glad.start_objectives_) == {"majority", "hds"}
    assert glad.start_ == "majority"
    single = GLAD(second_start=False).fit(hard_table)
    assert np.array_equal(glad.labels_, single.labels_)
    assert glad.log_likelihood_ == single.log_likelihood_


def test_posterior_init_is_the_only_start(hard_table) -> None:
    first = GLAD().fit(hard_table)
    warm = GLAD(posterior_init=first.posterior_).fit(hard_table)
    assert warm.start_ == "posterior_init" and list(warm.start_objectives_) == ["posterior_init"]
    assert np.array_equal(warm.labels_, first.labels_)
    assert warm.n_iter_ < first.n_iter_
    with pytest.raises(ValueError, match="posterior_init"):
        GLAD(posterior_init=first.posterior_[:-1]).fit(hard_table)


@pytest.mark.parametrize("top", [5, 70_000, 2**32 - 1])
def test_votes_are_ordered_by_image_as_a_stable_sort_would(top: int) -> None:
    from reliability.glad import _argsort_indices

    values = np.random.default_rng(top).integers(0, top, size=50_000)
    values[:3] = [top - 1, 0, top - 1]
    assert np.array_equal(_argsort_indices(values), np.argsort(values, kind="stable"))
    assert _argsort_indices(np.zeros(0, dtype=np.int64)).shape == (0,)

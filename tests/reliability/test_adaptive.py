from __future__ import annotations

import numpy as np
import pytest

from reliability.adaptive import (
    NEITHER,
    AllocationPolicy,
    VotePrior,
    change_probability,
    effective_counts,
    partition_outcome,
    settle_outcome,
    settled,
)
from reliability.classes import BASIC_EMOTIONS, COMPOUND_EMOTIONS, compound_name
from reliability.subsets import partition

K = len(BASIC_EMOTIONS)
ADAPTIVE = AllocationPolicy(kind="adaptive", min_votes=10, max_votes=40)
# About what the empirical-Bayes fit gives on a RAF-shaped crowd.
FITTED = VotePrior(alpha=np.full(K, 0.3))


def counts(**by_class: float) -> np.ndarray:
    row = np.zeros(K)
    for name, value in by_class.items():
        row[BASIC_EMOTIONS.index(name)] = value
    return row


def decide(rows: list[np.ndarray], policy: AllocationPolicy = ADAPTIVE, prior: VotePrior = FITTED) -> list[bool]:
    c = np.array(rows)
    return settled(
        c, c.sum(axis=1).round(), policy=policy, prior=prior, classes=BASIC_EMOTIONS, rng=np.random.default_rng(0)
    ).tolist()


def test_it_retires_an_image_with_twenty_unanimous_votes() -> None:
    assert decide([counts(happiness=20)]) == [True]


def test_ten_unanimous_votes_are_not_yet_enough_for_forty() -> None:
    # Under the predictive, 30 more votes may still raise a second class over 1/7 (p ~ 0.13).
    assert decide([counts(happiness=10)]) == [False]


def test_it_never_retires_below_the_minimum() -> None:
    policy = AllocationPolicy(kind="adaptive", min_votes=25, max_votes=40)
    assert decide([counts(happiness=24)], policy=policy) == [False]
    assert decide([counts(happiness=25)], policy=policy) == [True]


def test_it_keeps_an_image_with_a_class_on_the_threshold_collecting() -> None:
    # fear at 3/20 = 0.15, just above the mean 1/7: forty votes may well put it below.
    assert decide([counts(happiness=17, fear=3)]) == [False]


def test_it_keeps_a_tied_compound_candidate_collecting() -> None:
    # Two classes at 6 each with others spread: whether this is basic, compound or neither is open.
    assert decide([counts(happiness=6, surprise=6, fear=2, neutral=2)]) == [False]


def test_a_settled_compound_image_with_a_clear_leader_retires() -> None:
    assert decide([counts(happiness=18, surprise=10)]) == [True]


def test_a_tied_compound_image_keeps_collecting_because_its_label_is_open() -> None:
    # The pair {happiness, surprise} is settled, the published label (the top class) is not.
    tied = counts(happiness=12, surprise=12)
    assert decide([tied]) == [False]
    plain = AllocationPolicy(kind="adaptive", min_votes=10, max_votes=40, outcome="partition")
    assert decide([tied], policy=plain) == [True]


FOUR = ("cat", "dog", "fox", "owl")
SMALL = AllocationPolicy(kind="adaptive", min_votes=5, max_votes=10)


def decide_four(rows: list[list[float]]) -> list[bool]:
    c = np.array(rows, dtype=float)
    return settled(
        c,
        c.sum(axis=1).round(),
        policy=SMALL,
        prior=VotePrior(alpha=np.full(4, 0.2)),
        classes=FOUR,
        rng=np.random.default_rng(0),
    ).tolist()


def test_a_three_three_tie_on_a_small_crowd_does_not_retire() -> None:
    # The public dog set's failure: 3 votes for two breeds each at 6 of 10 votes retired as a
    # settled compound pair, and the label was a coin flip.
    assert decide_four([[3, 3, 0, 0]]) == [False]
    assert decide_four([[6, 0, 0, 0]]) == [True]


def test_the_settle_outcome_has_no_top_class_on_a_tie() -> None:
    rows = np.array([[3, 3, 0, 0], [4, 3, 0, 0], [3, 4, 0, 0]], dtype=float)
    codes = settle_outcome(rows, FOUR)
    assert len(set(codes.tolist())) == 3
    assert np.array_equal(settle_outcome(rows * 2, FOUR), codes)


def test_every_image_at_the_maximum_is_settled_and_fixed_retires_nothing_earlier() -> None:
    full, early = counts(happiness=20, fear=20), counts(happiness=30)
    assert decide([full, early], policy=AllocationPolicy(kind="fixed", max_votes=40)) == [True, False]
    assert decide([full], policy=AllocationPolicy(kind="adaptive", min_votes=10, max_votes=40)) == [True]


def test_the_flat_prior_is_more_cautious_than_the_fitted_one() -> None:
    # Change probability ~0.021 fitted, ~0.059 flat: the fitted prior retires it at confidence
    # 0.965, the flat one does not (4,096 draws: the estimates' standard error is under 0.004).
    row = counts(happiness=17)[None, :]
    bound = 1.0 - 0.965
    kwargs = dict(max_votes=40, classes=BASIC_EMOTIONS, samples=4096, rng=np.random.default_rng(0))
    assert change_probability(row, prior=FITTED, **kwargs)[0] < bound - 0.008
    assert change_probability(row, prior=VotePrior.uniform(K), **kwargs)[0] > bound + 0.012


def test_the_change_probability_is_zero_at_the_maximum_and_high_on_a_knife_edge() -> None:
    rng = np.random.default_rng(1)
    edge = counts(happiness=8, sadness=2)  # sadness at 0.2: compound now, maybe basic at forty
    full = counts(happiness=30, sadness=10)
    p = change_probability(np.array([edge, full]), prior=FITTED, max_votes=40, classes=BASIC_EMOTIONS, rng=rng)
    assert p[1] == 0.0
    assert p[0] > 0.3


def test_partition_outcome_matches_the_papers_partition() -> None:
    rng = np.random.default_rng(2)
    g = rng.dirichlet(np.full(K, 0.4), size=3000)
    code = partition_outcome(g, BASIC_EMOTIONS)
    part = partition(g, classes=BASIC_EMOTIONS, min_class_size=0)
    basic = part.subset == "basic"
    assert np.array_equal(code[basic], part.label[basic])
    compound = part.subset == "compound"
    assert np.all(code[compound] >= K)
    pairs = np.stack(np.divmod(code[compound] - K, K), axis=1)
    names = [COMPOUND_EMOTIONS[i] for i in part.label[compound]]
    for (a, b), name in zip(pairs.tolist(), names, strict=True):
        assert compound_name(BASIC_EMOTIONS[a], BASIC_EMOTIONS[b]) == name
    assert set(np.unique(code[~basic & ~compound]).tolist()) <= {NEITHER} | set(range(K, K + K * K))


def test_the_fitted_prior_recovers_a_symmetric_dirichlet() -> None:
    rng = np.random.default_rng(3)
    theta = rng.dirichlet(np.full(K, 0.3), size=20_000)
    c = np.stack([rng.multinomial(20, t) for t in theta]).astype(float)
    fitted = VotePrior.fit(c).alpha
    assert np.allclose(fitted, 0.3, rtol=0.05)


def test_the_fitted_prior_favours_no_class() -> None:
    c = np.zeros((100, K))
    c[:, 3] = 20  # a project where every image so far is happy
    alpha = VotePrior.fit(c).alpha
    assert np.all(alpha == alpha[0]) and alpha[0] < 0.1


def test_the_prior_falls_back_to_flat_without_enough_images() -> None:
    assert np.array_equal(VotePrior.fit(np.ones((5, K))).alpha, np.ones(K))


def test_effective_counts_keep_one_vote_worth_one() -> None:
    image = np.array([0, 0, 0, 1])
    label = np.array([3, 3, 1, 2])
    c, n = effective_counts(image, label, np.array([2.0, 1.0, 0.0, 0.5]), n_images=2, n_classes=K)
    assert n.tolist() == [2, 1]
    assert c[0, 3] == pytest.approx(2.0) and c[0, 1] == 0.0 and c[1, 2] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "sometimes"}, "policy must be one of"),
        ({"min_votes": 0}, "min_votes"),
        ({"min_votes": 50, "max_votes": 40}, "min_votes"),
        ({"confidence": 1.0}, "confidence"),
        ({"prior": "hopeful"}, "prior"),
        ({"outcome": "vibes"}, "outcome"),
    ],
)
def test_it_refuses_bad_policies(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AllocationPolicy(**kwargs)  # type: ignore[arg-type]


def test_two_rounds_of_draws_settle_images_as_often_as_one_round() -> None:
    # An image near the bound (change probability a few percent) retires in some replays and
    # not in others: the two-round rule must retire it as often as the one-round rule would.
    rows = np.repeat(counts(happiness=17)[None, :], 4000, axis=0)
    bound = 1.0 - 0.965  # change probability ~0.021: retired in about 92% of checks
    kwargs = dict(prior=FITTED, max_votes=40, classes=BASIC_EMOTIONS)
    one = change_probability(rows, rng=np.random.default_rng(3), **kwargs)
    two = change_probability(rows, rng=np.random.default_rng(4), give_up_above=bound, **kwargs)
    assert 0.2 < np.mean(one <= bound) < 0.98
    assert abs(np.mean(one <= bound) - np.mean(two <= bound)) < 0.04
    # Far from the bound both agree on every image; an image given up after the first round is above it.
    edge = np.repeat(counts(happiness=8, sadness=2)[None, :], 200, axis=0)
    early = change_probability(edge, rng=np.random.default_rng(5), give_up_above=bound, **kwargs)
    assert np.all(early > bound)


@pytest.mark.parametrize("concentration", [0.1, 0.4, 5.0])
def test_the_fitted_prior_maximises_the_dirichlet_multinomial_likelihood(concentration: float) -> None:
    from scipy.optimize import minimize_scalar
    from scipy.special import gammaln

    rng = np.random.default_rng(7)
    theta = rng.dirichlet(np.full(K, concentration), size=4000)
    c = np.stack([rng.multinomial(n, t) for n, t in zip(rng.integers(2, 40, size=4000), theta, strict=True)])
    c = c * rng.uniform(0.5, 1.5, size=(4000, 1))  # weighted counts, as the platform's
    c = c[c.sum(axis=1) >= 2]  # the images the fit uses
    n = c.sum(axis=1)

    def minus_loglik(t: float) -> float:
        a = np.exp(t)
        return -float((gammaln(K * a) - gammaln(n + K * a) + (gammaln(c + a) - gammaln(a)).sum(axis=1)).sum())

    best = np.exp(minimize_scalar(minus_loglik, bounds=(-6, 6), method="bounded", options={"xatol": 1e-9}).x)
    fitted = VotePrior.fit(c).alpha
    assert fitted[0] == pytest.approx(best, rel=1e-4)
    # From the previous fit (a live update) it lands on the same optimum.
    again = VotePrior.fit(c, start=VotePrior(alpha=np.full(K, best * 1.5))).alpha
    assert again[0] == pytest.approx(best, rel=1e-4)

from __future__ import annotations

import numpy as np
import pytest

from reliability.spammers import SpammerRules, spammer_report

K = 7
RULES = SpammerRules()


def report(
    labels: list[int],
    *,
    predictive: np.ndarray | None = None,
    gold: list[int] | None = None,
    times: list[float] | None = None,
    rules: SpammerRules = RULES,
):
    n = len(labels)
    if predictive is None:
        predictive = np.full((n, K), 1.0 / K)
    return spammer_report(
        annotator=np.zeros(n, dtype=np.int64),
        label=np.array(labels),
        predictive=predictive,
        gold_label=np.array(gold if gold is not None else [-1] * n),
        time_ms=None if times is None else np.array(times, dtype=float),
        n_annotators=1,
        n_classes=K,
        rules=rules,
    )


def confident(truth: list[int]) -> np.ndarray:
    """Predictives of images whose other votes agree on ``truth`` (0.85 on it)."""
    q = np.full((len(truth), K), 0.15 / (K - 1))
    q[np.arange(len(truth)), truth] = 0.85
    return q


def test_it_flags_random_answers_against_confident_images() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, K, size=30).tolist()
    got = report(rng.integers(0, K, size=30).tolist(), predictive=confident(truth))
    assert got.flagged[0] and got.reason[0] == "random answers"


def test_it_keeps_a_careless_but_honest_annotator() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, K, size=200)
    labels = np.where(rng.random(200) < 0.5, truth, (truth + rng.integers(1, K, size=200)) % K)  # half right
    got = report(labels.tolist(), predictive=confident(truth.tolist()))
    assert not got.flagged[0] and got.random_llr[0] > 0


def test_it_flags_wrong_gold_answers_without_any_other_votes() -> None:
    got = report([1] * 12, gold=[0, 2, 3, 4, 5, 6, 0, 2, 3, 4, 5, 6])
    assert got.flagged[0] and got.gold_answers[0] == 12 and got.gold_correct[0] == 0


def test_it_flags_one_key_pressed_again_and_again() -> None:
    got = report([3] * 15)
    assert got.flagged[0] and got.reason[0] == "straight-lining"


def test_a_run_of_the_right_label_is_not_straight_lining() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, K, size=60)
    truth[20:30] = 3  # ten happy faces in a row, labelled right
    got = report(truth.tolist(), predictive=confident(truth.tolist()))
    assert not got.flagged[0]


def test_it_flags_answers_faster_than_anyone_can_look() -> None:
    got = report([0, 1, 2, 3, 4, 5, 6, 0, 1, 2], times=[0.0] * 10)
    assert got.flagged[0] and got.reason[0] == "answer time"
    assert got.median_time_ms[0] == 0.0


def test_it_judges_nobody_before_the_minimum_number_of_answers() -> None:
    got = report([3] * 9, times=[0.0] * 9)
    assert not got.flagged[0]


@pytest.mark.parametrize("field", ["honest_accuracy", "stick"])
def test_it_refuses_probabilities_outside_zero_one(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SpammerRules(**{field: 1.0})


# Class frequencies of RAF-DB's basic subset (surprise, fear, disgust, happiness, sadness,
# anger, neutral): what the predictive of an image nobody has voted on yet looks like.
RAF_BASE_RATE = np.array([0.106, 0.023, 0.057, 0.388, 0.160, 0.057, 0.209])


def probation(rng: np.random.Generator, n: int, gold_right: float, label_mix: float) -> dict[str, np.ndarray]:
    """``n`` answers of one annotator at the start of a project: a gold check every other answer
    for the first 30 (then one in 20), counted votes on images nobody else has voted on (their
    predictive is the base rate). ``gold_right``: chance of a right gold answer; counted labels
    are drawn from ``label_mix * base rate + (1 - label_mix) * uniform``."""
    is_gold = np.array([i < 30 and i % 2 == 0 or i >= 30 and i % 20 == 0 for i in range(n)])
    truth = rng.integers(0, K, size=n)
    wrong = (truth + rng.integers(1, K, size=n)) % K
    gold_answer = np.where(rng.random(n) < gold_right, truth, wrong)
    looks = label_mix * RAF_BASE_RATE + (1 - label_mix) / K
    counted_answer = rng.choice(K, size=n, p=looks / looks.sum())
    return {
        "label": np.where(is_gold, gold_answer, counted_answer),
        "gold_label": np.where(is_gold, truth, -1),
        "predictive": np.tile(RAF_BASE_RATE, (n, 1)),
    }


def judged(answers: dict[str, np.ndarray], rules: SpammerRules = RULES, n_classes: int = K):
    n = answers["label"].shape[0]
    return spammer_report(
        annotator=np.zeros(n, dtype=np.int64),
        label=answers["label"],
        predictive=answers["predictive"],
        gold_label=answers["gold_label"],
        time_ms=None,
        n_annotators=1,
        n_classes=n_classes,
        rules=rules,
    )


def first_flag(answers: dict[str, np.ndarray], rules: SpammerRules = RULES, *, every: int = 2) -> int | None:
    """The tests are sequential: judged after every ``every`` answers (as the platform's live
    updates do), the first time they flag. None if they never do."""
    n = answers["label"].shape[0]
    k = answers["predictive"].shape[1]
    for m in range(rules.min_answers, n + every, every):
        m = min(m, n)
        if judged({key: value[:m] for key, value in answers.items()}, rules, k).flagged[0]:
            return m
    return None


def test_random_clickers_on_an_empty_crowd_are_flagged_within_thirty_answers() -> None:
    # Nobody else has voted on their images yet: only the probation gold checks (15 of the first
    # 30 answers) and the label histogram against the base rate carry evidence.
    flags = [first_flag(probation(np.random.default_rng(seed), 30, 1 / K, 0.0)) for seed in range(20)]
    assert sum(at is not None for at in flags) >= 18


def test_with_ten_probation_checks_a_lucky_random_clicker_can_pass() -> None:
    # Why the benchmark serves 15: with 10 gold checks a random clicker who guesses 3 right is
    # not flagged by 30 answers (an honest annotator can score 3 of 10 too).
    rng = np.random.default_rng(0)
    labels = rng.integers(0, K, size=30)
    gold = np.full(30, -1)
    wrong = [9, 12, 15, 18, 21, 24, 27]
    gold[::3] = labels[::3]  # 10 checks, the first 3 right ...
    gold[wrong] = (labels[wrong] + 1) % K  # ... the other 7 wrong
    answers = {"label": labels, "gold_label": gold, "predictive": np.tile(RAF_BASE_RATE, (30, 1))}
    assert first_flag(answers) is None and judged(answers).gold_correct[0] == 3


def weak_annotator(seed: int, n: int = 400) -> dict[str, np.ndarray]:
    """60% right on gold (the test's honest side assumes 75%), labels only partly following the
    crowd's class frequencies at first; then votes on images with others' votes, right 55% of
    the time."""
    rng = np.random.default_rng(100 + seed)
    answers = probation(rng, n, 0.6, 0.6)
    truth = rng.integers(0, K, size=n)
    vote = np.where(rng.random(n) < 0.55, truth, (truth + rng.integers(1, K, size=n)) % K)
    counted = (np.arange(n) >= 30) & (answers["gold_label"] < 0)
    answers["label"] = np.where(counted, vote, answers["label"])
    q = np.full((n, K), 0.4 / (K - 1))
    q[np.arange(n), truth] = 0.6
    answers["predictive"] = np.where(counted[:, None], q, answers["predictive"])
    return answers


def test_an_honest_but_weak_annotator_is_never_flagged() -> None:
    assert [first_flag(weak_annotator(seed), every=3) for seed in range(20)] == [None] * 20
    # A gold model that expects 90% of every honest annotator flags some of them.
    greedy = SpammerRules(gold_accuracy=0.9)
    assert any(first_flag(weak_annotator(seed), greedy, every=3) is not None for seed in range(20))


def careful_two_class(seed: int, n: int = 2000) -> dict[str, np.ndarray]:
    """A careful annotator (97% right) of a two-class project where one class is 95% of the
    images, whose images have a few other votes: the predictive leads with the right class by
    only 0.55 to 0.75."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.05).astype(np.int64)
    lead = rng.uniform(0.55, 0.75, size=n)
    q = np.empty((n, 2))
    q[np.arange(n), truth] = lead
    q[np.arange(n), 1 - truth] = 1 - lead
    return {
        "label": np.where(rng.random(n) < 0.97, truth, 1 - truth),
        "gold_label": np.full(n, -1),
        "predictive": q,
    }


def test_a_careful_annotator_of_a_lopsided_two_class_project_is_not_straight_lining() -> None:
    assert [first_flag(careful_two_class(seed), every=50) for seed in range(20)] == [None] * 20
    # The honest side "answers like a typical vote" alone flagged most of them.
    typical_only = SpammerRules(careful=(0.0,), agree=(1.0,))
    assert sum(first_flag(careful_two_class(seed), typical_only, every=50) is not None for seed in range(20)) >= 15


def test_one_key_again_and_again_is_still_straight_lining_in_a_lopsided_project() -> None:
    answers = careful_two_class(0, n=60)
    answers["label"] = np.ones(60, dtype=np.int64)  # "match", whatever the image
    got = judged(answers, n_classes=2)
    assert got.flagged[0] and got.reason[0] == "straight-lining"
    assert first_flag(answers) == 10


@pytest.mark.parametrize(
    ("field", "value"), [("careful", (1.0,)), ("careful", ()), ("agree", (0.0,)), ("agree", (1.5,))]
)
def test_it_refuses_bad_honest_families(field: str, value: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=field):
        SpammerRules(**{field: value})

"""A crowd simulator for tests, benchmarks and demos.

Images carry one true emotion, or two (a compound emotion: each vote's intended class is one of
the two), and a difficulty; annotators have a reliability. A vote is the intended class with
probability ``sigmoid(alpha_i * beta_j)``, else one of the other classes uniformly (the GLAD
model). Spammers answer uniformly at random regardless of the image; adversarial annotators have
a negative reliability (they avoid the true class more often than chance).

Assignment is random and balanced as in the paper: each image gets ``votes_per_image`` distinct
annotators, drawn along a random arithmetic progression modulo the number of annotators (a random
start and a random stride coprime with it), which costs O(votes) memory even at 10x RAF scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from reliability.classes import ADVERBS, BASIC_EMOTIONS, NEUTRAL, compound_name


@dataclass(frozen=True)
class SimulatedCrowd:
    """Simulated votes and the truth behind them.

    Attributes:
        annotator, image, label: ``(n_votes,)`` int64 vote arrays.
        true_label: ``(n_images,)`` int64, the dominant true class.
        second_label: ``(n_images,)`` int64, the second class of a compound image, else -1.
        beta: ``(n_images,)`` float64, true ``beta`` (difficulty ``1 / beta``).
        alpha: ``(n_annotators,)`` float64, true reliability (spammers: NaN).
        kind: ``(n_annotators,)`` str: ``"normal"``, ``"spammer"`` or ``"adversarial"``.
        classes: class names.
    """

    annotator: np.ndarray
    image: np.ndarray
    label: np.ndarray
    true_label: np.ndarray
    second_label: np.ndarray
    beta: np.ndarray
    alpha: np.ndarray
    kind: np.ndarray
    classes: tuple[str, ...]

    @property
    def true_accuracy(self) -> np.ndarray:
        """``(n_annotators,)`` each annotator's share of votes on an intended class."""
        hit = (self.label == self.true_label[self.image]) | (self.label == self.second_label[self.image])
        n = np.bincount(self.annotator, minlength=self.alpha.shape[0])
        return np.bincount(self.annotator, weights=hit, minlength=self.alpha.shape[0]) / np.maximum(n, 1)

    def label_accuracy(self, labels: np.ndarray) -> float:
        """Share of images whose estimated label is (one of) the true class(es)."""
        hit = (labels == self.true_label) | (labels == self.second_label)
        return float(hit.mean())


def simulate_crowd(
    *,
    n_images: int,
    n_annotators: int,
    votes_per_image: int,
    spammer_fraction: float = 0.05,
    adversarial_fraction: float = 0.02,
    compound_fraction: float = 0.2,
    classes: tuple[str, ...] = BASIC_EMOTIONS,
    seed: int = 0,
    true_label: np.ndarray | None = None,
    confusion: np.ndarray | None = None,
) -> SimulatedCrowd:
    """Simulate a crowd; see the module docstring. Raises ``ValueError`` on impossible sizes.

    ``true_label`` ``(n_images,)`` fixes each image's true class (known photos, e.g. the demo's
    posed expressions) instead of drawing it. ``confusion`` ``(K, K)`` gives, per intended class
    (row), the relative chance of each wrong answer (columns; the diagonal is ignored), so wrong
    votes follow realistic confusions (neutral read as sadness, happiness as surprise) instead of
    being uniform.
    """
    if n_images < 1 or n_annotators < 1 or votes_per_image < 1:
        raise ValueError("images, annotators and votes per image must be positive")
    if votes_per_image > n_annotators:
        raise ValueError("votes per image cannot exceed the number of annotators")
    if not (0 <= spammer_fraction <= 1 and 0 <= adversarial_fraction <= 1 and 0 <= compound_fraction <= 1):
        raise ValueError("fractions must lie in [0, 1]")
    if spammer_fraction + adversarial_fraction > 1:
        raise ValueError("spammers and adversarial annotators cannot exceed all annotators")
    rng = np.random.default_rng(seed)
    k = len(classes)

    # Class frequencies skewed like RAF-DB (many happy/neutral faces, few fearful ones).
    weights = rng.dirichlet(np.full(k, 2.0))
    drawn = rng.choice(k, size=n_images, p=weights).astype(np.int64)
    if true_label is None:
        true_label = drawn
    else:
        true_label = np.asarray(true_label, dtype=np.int64).copy()
        if true_label.shape != (n_images,) or true_label.min() < 0 or true_label.max() >= k:
            raise ValueError("true_label needs one class index per image")
    wrong_p = None
    if confusion is not None:
        wrong_p = np.asarray(confusion, dtype=np.float64).copy()
        if wrong_p.shape != (k, k) or (wrong_p < 0).any():
            raise ValueError("confusion must be a (K, K) array of non-negative weights")
        np.fill_diagonal(wrong_p, 0.0)
        if (wrong_p.sum(axis=1) <= 0).any():
            raise ValueError("each row of confusion needs a positive weight off the diagonal")
        wrong_p /= wrong_p.sum(axis=1, keepdims=True)
    second_label = np.full(n_images, -1, dtype=np.int64)
    compound = rng.random(n_images) < compound_fraction
    if k > 2 and compound.any():
        pairs = _compound_pairs(classes)
        if pairs.shape[0]:
            chosen = pairs[rng.integers(0, pairs.shape[0], size=int(compound.sum()))]
            true_label[compound] = chosen[:, 0]
            second_label[compound] = chosen[:, 1]
    beta = np.exp(rng.normal(0.0, 0.8, size=n_images))

    n_spam = int(round(spammer_fraction * n_annotators))
    n_adv = int(round(adversarial_fraction * n_annotators))
    kind = np.array(["normal"] * n_annotators, dtype=object)
    order = rng.permutation(n_annotators)
    kind[order[:n_spam]] = "spammer"
    kind[order[n_spam : n_spam + n_adv]] = "adversarial"
    kind = kind.astype(str)
    alpha = rng.gamma(2.0, 0.5, size=n_annotators) + 0.2
    alpha[kind == "adversarial"] = -rng.uniform(2.5, 4.0, size=n_adv)  # below chance
    alpha[kind == "spammer"] = np.nan

    image = np.repeat(np.arange(n_images, dtype=np.int64), votes_per_image)
    annotator = _balanced_annotators(rng, n_images, n_annotators, votes_per_image)

    intended = true_label[image]
    second = second_label[image]
    use_second = (second >= 0) & (rng.random(image.shape[0]) < 0.4)
    intended = np.where(use_second, second, intended)
    a = alpha[annotator]
    p_right = np.where(np.isnan(a), 1.0 / k, expit(np.nan_to_num(a) * beta[image]))
    right = rng.random(image.shape[0]) < p_right
    # A wrong vote is uniform over the other K - 1 classes: shift by 1..K-1 modulo K.
    wrong = (intended + rng.integers(1, k, size=image.shape[0])) % k
    if wrong_p is not None:
        # Inverse-CDF draw from the intended class's row of the confusion weights.
        cdf = np.cumsum(wrong_p, axis=1)[intended]  # (n_votes, K)
        wrong = np.minimum((rng.random(image.shape[0])[:, None] > cdf).sum(axis=1), k - 1).astype(np.int64)
    label = np.where(right, intended, wrong).astype(np.int64)
    return SimulatedCrowd(
        annotator=annotator,
        image=image,
        label=label,
        true_label=true_label,
        second_label=second_label,
        beta=beta,
        alpha=alpha,
        kind=kind,
        classes=tuple(classes),
    )


def _balanced_annotators(rng: np.random.Generator, n_images: int, n_annotators: int, per_image: int) -> np.ndarray:
    """``(n_images * per_image,)`` annotator indices, distinct within each image."""
    strides = np.array([d for d in range(1, n_annotators + 1) if math.gcd(d, n_annotators) == 1] or [1])
    start = rng.integers(0, n_annotators, size=n_images)
    stride = strides[rng.integers(0, strides.shape[0], size=n_images)]
    slots = np.arange(per_image, dtype=np.int64)
    raw = (start[:, None] + slots[None, :] * stride[:, None]) % n_annotators  # (n_images, per_image)
    return rng.permutation(n_annotators)[raw].ravel().astype(np.int64)


def _compound_pairs(classes: tuple[str, ...]) -> np.ndarray:
    """``(n_pairs, 2)`` class index pairs that name a compound emotion, dominant first."""
    pairs = []
    for a, first in enumerate(classes):
        for b, second in enumerate(classes):
            if a >= b or NEUTRAL in (a, b) and classes == BASIC_EMOTIONS:
                continue
            try:
                name = compound_name(first, second)
            except KeyError:
                continue
            dominant = a if name.startswith(ADVERBS.get(first, "\0")) else b
            pairs.append((dominant, b if dominant == a else a))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)

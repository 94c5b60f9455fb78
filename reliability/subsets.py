"""The paper's subsets from the 7-d ground truth (PAPER.md section 3).

- Basic (single-label): with ``g_mean = sum_k g_k / K``, labels with ``g_k > g_mean`` are valid;
  an image with exactly one valid label joins the basic subset with that label.
- Compound (two-tab): the same rule after removing the neutral component (``g_mean`` is then the
  mean of the other six); an image with exactly two valid labels joins the compound subset,
  named "<dominant>ly <other>" by the paper's convention (:func:`reliability.classes.compound_name`).
  Pairs outside the paper's 12 compound classes are left out. The paper "removed images with
  neutral labels": an image where neutral is among the valid labels of the 7-class rule
  (``g_neutral > 1/7`` of the mass) is not a compound image, so a mostly-neutral face never
  becomes, say, "fearfully surprised" from its two weak runners-up.
- So no image qualifies for both subsets (an image whose one basic label is neutral has
  neutral among its valid labels).
- Classes with fewer than ``min_class_size`` images are dropped (the paper dropped "fearfully
  disgusted"), then each subset is split train/test per class with a seeded shuffle, so that both
  splits have nearly the same class distribution. ``test_fraction`` defaults to 0.2: the released
  benchmark's counts, 12,271 / 3,068 (basic) and 3,162 / 792 (compound), are a 4:1 split; the
  paper's text says 5:1 (``test_fraction=1/6``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reliability.classes import BASIC_EMOTIONS, COMPOUND_EMOTIONS, NEUTRAL, compound_name


@dataclass(frozen=True)
class Partition:
    """Per-image subset membership, ``(n_images,)`` arrays.

    Attributes:
        subset: ``"basic"``, ``"compound"`` or ``""``.
        label: index into ``classes`` (basic) or ``COMPOUND_EMOTIONS`` (compound); -1 when none.
        name: class name, or ``""``.
        split: ``"train"``, ``"test"`` or ``""``.
        dropped: class names dropped for having fewer than ``min_class_size`` images.
    """

    subset: np.ndarray
    label: np.ndarray
    name: np.ndarray
    split: np.ndarray
    dropped: tuple[str, ...]

    def counts(self, subset: str) -> dict[str, dict[str, int]]:
        """``{class name: {"train": n, "test": n}}`` for one subset."""
        out: dict[str, dict[str, int]] = {}
        mask = self.subset == subset
        for name, split in zip(self.name[mask], self.split[mask], strict=True):
            out.setdefault(str(name), {"train": 0, "test": 0})[str(split)] += 1
        return out


def basic_labels(g: np.ndarray) -> np.ndarray:
    """``(n_images,)`` the one valid class of each image ``g`` ``(n_images, K)``, else -1."""
    g = np.asarray(g, dtype=np.float64)
    valid = g > g.sum(axis=1, keepdims=True) / g.shape[1]
    return np.where(valid.sum(axis=1) == 1, valid.argmax(axis=1), -1)


def compound_pairs(g: np.ndarray, neutral: int | None = NEUTRAL) -> np.ndarray:
    """``(n_images, 2)`` the two valid classes (larger ``g`` first) after removing ``neutral``;
    rows of -1 where the image does not have exactly two."""
    g = np.asarray(g, dtype=np.float64).copy()
    k = g.shape[1]
    others = k
    if neutral is not None:
        g[:, neutral] = -np.inf
        others = k - 1
    finite = np.where(np.isfinite(g), g, 0.0)
    valid = g > finite.sum(axis=1, keepdims=True) / others
    two = valid.sum(axis=1) == 2
    ranked = np.argsort(-np.where(valid, g, -np.inf), axis=1, kind="stable")[:, :2]
    return np.where(two[:, None], ranked, -1)


def stratified_split(labels: np.ndarray, *, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """``(n,)`` ``"train"``/``"test"`` (``""`` where ``labels`` is -1), per class, seeded."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must lie strictly between 0 and 1")
    labels = np.asarray(labels)
    split = np.where(labels >= 0, "train", "").astype("<U5")
    rng = np.random.default_rng(seed)
    for cls in np.unique(labels[labels >= 0]):  # a loop over classes, not images
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = int(round(members.shape[0] * test_fraction))
        split[members[:n_test]] = "test"
    return split


def partition(
    g: np.ndarray,
    *,
    classes: tuple[str, ...] = BASIC_EMOTIONS,
    min_class_size: int = 20,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Partition:
    """Basic and compound subsets with a stratified split from ``g`` ``(n_images, K)``."""
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != len(classes):
        raise ValueError(f"distributions must have {len(classes)} columns, one per class")
    if min_class_size < 0:
        raise ValueError("min_class_size must not be negative")
    n = g.shape[0]
    basic = basic_labels(g)
    neutral = classes.index("neutral") if "neutral" in classes else None
    pairs = compound_pairs(g, neutral)
    names = np.full(n, "", dtype=object)
    subset = np.full(n, "", dtype=object)
    label = np.full(n, -1, dtype=np.int64)
    is_basic = basic >= 0
    names[is_basic] = np.asarray(classes, dtype=object)[basic[is_basic]]
    subset[is_basic] = "basic"
    label[is_basic] = basic[is_basic]
    # Name each distinct pair once (a loop over at most K^2 pairs, not over images).
    candidates = (~is_basic) & (pairs[:, 0] >= 0)
    if neutral is not None:  # images with a valid neutral label are not compound (the paper)
        candidates &= g[:, neutral] <= g.sum(axis=1) / g.shape[1]
    if candidates.any():
        codes = pairs[:, 0] * len(classes) + pairs[:, 1]
        for code in np.unique(codes[candidates]):
            a, b = divmod(int(code), len(classes))
            try:
                name = compound_name(classes[a], classes[b])
            except KeyError:
                continue
            members = candidates & (codes == code)
            names[members] = name
            subset[members] = "compound"
            label[members] = COMPOUND_EMOTIONS.index(name)
    dropped: list[str] = []
    for kind in ("basic", "compound"):
        in_kind = subset == kind
        values, sizes = np.unique(names[in_kind].astype(str), return_counts=True)
        for value, size in zip(values, sizes, strict=True):
            if size < min_class_size:
                dropped.append(str(value))
                gone = in_kind & (names == value)
                names[gone], subset[gone], label[gone] = "", "", -1
    split = np.full(n, "", dtype="<U5")
    for kind in ("basic", "compound"):
        in_kind = subset == kind
        split_labels = np.where(in_kind, label, -1)
        split = np.where(in_kind, stratified_split(split_labels, test_fraction=test_fraction, seed=seed), split)
    return Partition(
        subset=subset.astype(str),
        label=label,
        name=names.astype(str),
        split=split,
        dropped=tuple(dropped),
    )

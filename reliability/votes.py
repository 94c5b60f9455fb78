"""The vote table every estimator works on: one row per (annotator, image, label) vote.

Identifiers of annotators and images may be anything hashable (ints, strings); the table maps
them to dense indices ``0..n-1`` so that the estimators can index numpy arrays directly.
Labels are 0-based class indices (or class names, mapped through ``classes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reliability.classes import BASIC_EMOTIONS

# Other spellings of the three columns in public crowdsourcing files.
ALIASES = {"worker": "annotator", "worker_id": "annotator", "task": "image", "item": "image", "task_id": "image"}


class VoteTableError(ValueError):
    """The votes cannot form a valid table (empty, unknown label, duplicate vote, bad file)."""


@dataclass(frozen=True)
class VoteTable:
    """Votes as three aligned integer arrays plus the id maps.

    Attributes:
        annotator: ``(n_votes,)`` int64, dense annotator index.
        image: ``(n_votes,)`` int64, dense image index.
        label: ``(n_votes,)`` int64, class index in ``0..n_classes-1``.
        annotator_ids: ``(n_annotators,)`` original annotator ids, in index order.
        image_ids: ``(n_images,)`` original image ids, in index order.
        classes: class names in label order.
    """

    annotator: np.ndarray
    image: np.ndarray
    label: np.ndarray
    annotator_ids: np.ndarray
    image_ids: np.ndarray
    classes: tuple[str, ...]

    @property
    def n_votes(self) -> int:
        return int(self.label.shape[0])

    @property
    def n_annotators(self) -> int:
        return int(self.annotator_ids.shape[0])

    @property
    def n_images(self) -> int:
        return int(self.image_ids.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def from_arrays(
        cls,
        annotators: Sequence[Any] | np.ndarray,
        images: Sequence[Any] | np.ndarray,
        labels: Sequence[Any] | np.ndarray,
        *,
        classes: Sequence[str] | int | None = None,
        check_duplicates: bool = True,
    ) -> VoteTable:
        """Build a table from three aligned sequences of length ``n_votes``.

        ``labels`` are 0-based ints or class names. ``classes`` is the class names, or their
        number (names are then ``"0".."K-1"``); by default the 7 basic emotions.
        """
        annotators = np.asarray(annotators)
        images = np.asarray(images)
        raw_labels = np.asarray(labels)
        if not (annotators.ndim == images.ndim == raw_labels.ndim == 1):
            raise VoteTableError("annotators, images and labels must be one-dimensional")
        if not (annotators.shape == images.shape == raw_labels.shape):
            raise VoteTableError(
                f"annotators, images and labels differ in length ({annotators.shape[0]}, "
                f"{images.shape[0]}, {raw_labels.shape[0]})"
            )
        if raw_labels.shape[0] == 0:
            raise VoteTableError("no votes")
        class_names = _class_names(classes)
        label = _label_indices(raw_labels, class_names)
        annotator_ids, annotator = dense_ids(annotators)
        image_ids, image = dense_ids(images)
        if check_duplicates:
            key = annotator * np.int64(image_ids.shape[0]) + image
            dup = first_repeat(key)
            if dup >= 0:
                raise VoteTableError(
                    f"duplicate vote: annotator {annotators[dup].item()!r} voted twice on image {images[dup].item()!r}"
                )
        return cls(
            annotator=annotator,
            image=image,
            label=label,
            annotator_ids=annotator_ids,
            image_ids=image_ids,
            classes=class_names,
        )

    @classmethod
    def from_csv(cls, path: str | Path, *, classes: Sequence[str] | int | None = None) -> VoteTable:
        """Read a CSV with header ``annotator,image,label`` (extra columns are ignored;
        ``worker`` and ``task`` are accepted for the first two). Without ``classes`` they are
        inferred from the labels; see :func:`reliability.vote_files.read_votes_csv`."""
        from reliability.vote_files import read_votes_csv  # that module builds on this one

        return read_votes_csv(path, classes=classes)

    def counts(self) -> np.ndarray:
        """Raw vote counts per image and class, ``(n_images, n_classes)`` int64."""
        k = self.n_classes
        flat = np.bincount(self.image * k + self.label, minlength=self.n_images * k)
        return flat.reshape(self.n_images, k)

    def votes_per_annotator(self) -> np.ndarray:
        """``(n_annotators,)`` int64."""
        return np.bincount(self.annotator, minlength=self.n_annotators)

    def subset_annotators(self, keep: np.ndarray) -> VoteTable:
        """The table without the votes of annotators where ``keep`` (``(n_annotators,)`` bool) is
        False. Image indices are unchanged (an image may be left without votes); annotator
        indices are renumbered densely over the kept annotators."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (self.n_annotators,):
            raise VoteTableError("keep must have one entry per annotator")
        if not keep.any():
            raise VoteTableError("no annotator kept")
        new_index = np.cumsum(keep) - 1
        mask = keep[self.annotator]
        return VoteTable(
            annotator=new_index[self.annotator[mask]],
            image=self.image[mask],
            label=self.label[mask],
            annotator_ids=self.annotator_ids[keep],
            image_ids=self.image_ids,
            classes=self.classes,
        )


def _class_names(classes: Sequence[str] | int | None) -> tuple[str, ...]:
    if isinstance(classes, int):
        if classes < 2:
            raise VoteTableError("at least two classes are needed")
        return tuple(str(k) for k in range(classes))
    if classes is not None:
        names = tuple(str(name) for name in classes)
        if len(names) < 2 or len(set(names)) != len(names):
            raise VoteTableError("classes must be at least two distinct names")
        return names
    return BASIC_EMOTIONS


def _label_indices(raw_labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    if raw_labels.dtype.kind in "iu":
        label = raw_labels.astype(np.int64)
    elif raw_labels.dtype.kind == "f":
        if not np.all(np.isfinite(raw_labels)) or np.any(raw_labels != np.round(raw_labels)):
            raise VoteTableError("labels must be integers or class names")
        label = raw_labels.astype(np.int64)
    else:
        lookup = {name: k for k, name in enumerate(classes)}
        values, inverse = np.unique(raw_labels.astype(str), return_inverse=True)
        mapped = np.empty(values.shape[0], dtype=np.int64)
        for i, value in enumerate(values):  # loop over distinct label strings, not votes
            if value in lookup:
                mapped[i] = lookup[value]
            elif value.lstrip("-").isdigit():
                mapped[i] = int(value)
            else:
                raise VoteTableError(f"unknown label {str(value)!r} (classes: {', '.join(classes)})")
        label = mapped[inverse.ravel()]
    bad = (label < 0) | (label >= len(classes))
    if bad.any():
        raise VoteTableError(f"unknown label {int(label[np.argmax(bad)])} (expected 0..{len(classes) - 1})")
    return label


def first_repeat(key: np.ndarray) -> int:
    """Position of the first value of ``key`` ``(n,)`` seen before, or -1 (one sort; the slower
    stable argsort only runs to name the culprit)."""
    ordered = np.sort(key)
    if not np.any(ordered[1:] == ordered[:-1]):
        return -1
    order = np.argsort(key, kind="stable")
    repeated = np.flatnonzero(key[order][1:] == key[order][:-1])
    return int(order[repeated[0] + 1])


def dense_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids ``(n_ids,)`` and each value's index into them ``(n,)`` int64.

    Non-negative integer ids of moderate range take an O(n) path through ``np.bincount``
    (the common case: database primary keys); anything else goes through ``np.unique``.
    """
    if (
        values.dtype.kind in "iu"
        and values.shape[0]
        and values.min() >= 0
        and values.max() < 4 * values.shape[0] + 10**6
    ):
        present = np.bincount(values) > 0
        ids = np.flatnonzero(present)
        index = (np.cumsum(present) - 1)[values]
        return ids.astype(values.dtype), index.astype(np.int64)
    ids, index = np.unique(values, return_inverse=True)
    return ids, index.astype(np.int64).ravel()

"""The paper's evaluation protocol (PAPER.md 4): mean diagonal of the row-normalised confusion
matrix (mean per-class recall, "balanced accuracy"), plain accuracy, per-class recall, the
confusion matrix as CSV and as a PNG plot, and the mean KL divergence from the crowd's
distribution to the predicted one (how well a model reproduces the humans' ambiguity).

Classes absent from ``y_true`` have no recall (NaN) and are left out of the mean diagonal, as in
scikit-learn's ``balanced_accuracy_score``; a prediction of such a class still counts as an error.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


def _check(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true).astype(np.int64, copy=False).ravel()
    pred = np.asarray(y_pred).astype(np.int64, copy=False).ravel()
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but y_pred has {pred.size}")
    if true.size == 0:
        raise ValueError("no labels to evaluate")
    for name, values in (("y_true", true), ("y_pred", pred)):
        if values.min() < 0 or values.max() >= n_classes:
            raise ValueError(f"{name} holds labels outside 0..{n_classes - 1}")
    return true, pred


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``(K, K)`` int64: row = true class, column = predicted class."""
    true, pred = _check(y_true, y_pred, n_classes)
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def row_normalise(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum ``(K, K)`` float64; rows of absent classes are NaN."""
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.nan)


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Recall of each class ``(K,)``: the diagonal of the row-normalised confusion matrix."""
    return np.diag(row_normalise(confusion_matrix(y_true, y_pred, n_classes)))


def mean_diagonal(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """The paper's metric: mean of the per-class recalls over the classes present in ``y_true``."""
    return float(np.nanmean(per_class_recall(y_true, y_pred, n_classes)))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Fraction of correct predictions."""
    true, pred = _check(y_true, y_pred, n_classes)
    return float(np.mean(true == pred))


def mean_kl(human: np.ndarray, predicted: np.ndarray, eps: float = 1e-7) -> float:
    """Mean over images of ``KL(p || q) = sum_k p_k log(p_k / q_k)`` from the human distribution
    ``p`` ``(N, K)`` to the predicted one ``q`` ``(N, K)``. ``0 log 0 = 0``; rows of ``p`` are
    renormalised; ``q`` is clipped at ``eps``, so a confident wrong prediction costs a large but
    finite amount (``log(1 / eps)`` = 16.1 nats at most per unit of human mass)."""
    p = np.asarray(human, dtype=np.float64)
    q = np.asarray(predicted, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"human {p.shape} and predicted {q.shape} distributions must be (N, K) alike, N > 0")
    if (p < 0).any() or not np.isfinite(p).all():
        raise ValueError("human distributions must be finite and non-negative")
    p = p / np.maximum(p.sum(axis=1, keepdims=True), eps)
    q = np.maximum(q, eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.maximum(p, eps)) - np.log(q)), 0.0)
    return float(terms.sum(axis=1).mean())


@dataclass(frozen=True)
class EvaluationReport:
    """Figures of one model on one test set (recalls keyed by class name; NaN -> None in JSON)."""

    mean_diagonal: float
    accuracy: float
    per_class_recall: dict[str, float | None]
    confusion: list[list[int]]
    classes: tuple[str, ...]
    n_test: int

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data


def evaluation_report(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> EvaluationReport:
    """Mean diagonal, accuracy, per-class recall and confusion counts of ``y_pred`` against ``y_true``."""
    k = len(classes)
    matrix = confusion_matrix(y_true, y_pred, k)
    recall = np.diag(row_normalise(matrix))
    return EvaluationReport(
        mean_diagonal=float(np.nanmean(recall)),
        accuracy=float(np.trace(matrix) / matrix.sum()),
        per_class_recall={name: (None if math.isnan(r) else float(r)) for name, r in zip(classes, recall, strict=True)},
        confusion=matrix.tolist(),
        classes=tuple(classes),
        n_test=int(matrix.sum()),
    )


def write_confusion_csv(path: Path, matrix: np.ndarray, classes: Sequence[str]) -> Path:
    """Write counts as CSV: a header ``true\\predicted,<class>...`` then one row per true class."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["true\\predicted", *classes])
        for name, row in zip(classes, np.asarray(matrix), strict=True):
            writer.writerow([name, *(int(v) for v in row)])
    return path


def plot_confusion(path: Path, matrix: np.ndarray, classes: Sequence[str], *, title: str = "") -> Path:
    """Save the row-normalised confusion matrix as a PNG heat map with percentages in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rates = row_normalise(matrix) * 100.0
    k = len(classes)
    size = 1.6 + 0.62 * k
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(np.nan_to_num(rates), cmap="Blues", vmin=0, vmax=100)
    ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            if not math.isnan(rates[i, j]):
                ax.text(j, i, f"{rates[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if rates[i, j] > 55 else "black")  # fmt: skip
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="% of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from training.metrics import (
    accuracy,
    confusion_matrix,
    evaluation_report,
    mean_diagonal,
    per_class_recall,
    plot_confusion,
    write_confusion_csv,
)

# Hand-computed case: 3 classes.
#   class 0: 4 images, 3 right, 1 predicted as 1       recall 3/4
#   class 1: 2 images, 1 right, 1 predicted as 2       recall 1/2
#   class 2: 4 images, 4 right                         recall 1
# mean diagonal = (0.75 + 0.5 + 1) / 3 = 0.75, accuracy = 8 / 10
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])


def test_it_counts_the_confusion_matrix_rows_as_true_classes() -> None:
    assert confusion_matrix(Y_TRUE, Y_PRED, 3).tolist() == [[3, 1, 0], [0, 1, 1], [0, 0, 4]]


def test_it_computes_the_mean_diagonal_and_accuracy_by_hand() -> None:
    assert mean_diagonal(Y_TRUE, Y_PRED, 3) == pytest.approx(0.75)
    assert accuracy(Y_TRUE, Y_PRED, 3) == pytest.approx(0.8)
    assert per_class_recall(Y_TRUE, Y_PRED, 3) == pytest.approx([0.75, 0.5, 1.0])


def test_it_differs_from_accuracy_under_imbalance() -> None:
    # Always predicting the majority class: 90% accuracy, 50% mean diagonal.
    y_true = np.array([0] * 9 + [1])
    y_pred = np.zeros(10, dtype=int)
    assert accuracy(y_true, y_pred, 2) == pytest.approx(0.9)
    assert mean_diagonal(y_true, y_pred, 2) == pytest.approx(0.5)


def test_it_leaves_classes_without_test_images_out_of_the_mean() -> None:
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])  # a wrong prediction of the absent class 2 still counts
    recall = per_class_recall(y_true, y_pred, 3)
    assert recall[:2] == pytest.approx([0.5, 1.0]) and math.isnan(recall[2])
    assert mean_diagonal(y_true, y_pred, 3) == pytest.approx(0.75)


def test_it_rejects_labels_out_of_range_and_length_mismatch() -> None:
    with pytest.raises(ValueError, match="outside"):
        mean_diagonal(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="2 labels"):
        accuracy(np.array([0, 1]), np.array([0]), 3)


def test_it_reports_and_writes_csv_and_png(tmp_path: Path) -> None:
    report = evaluation_report(Y_TRUE, Y_PRED, ("a", "b", "c"))
    data = report.to_dict()
    assert data["mean_diagonal"] == pytest.approx(0.75)
    assert data["per_class_recall"] == {"a": 0.75, "b": 0.5, "c": 1.0}
    assert data["n_test"] == 10
    csv_path = write_confusion_csv(tmp_path / "c.csv", np.array(report.confusion), report.classes)
    rows = list(csv.reader(csv_path.open()))
    assert rows[0] == ["true\\predicted", "a", "b", "c"] and rows[2] == ["b", "0", "1", "1"]
    png = plot_confusion(tmp_path / "c.png", np.array(report.confusion), report.classes, title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

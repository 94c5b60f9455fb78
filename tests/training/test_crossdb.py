from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS
from training.crossdb import common_classes, main, restrict, run_crossdb
from training.datasets import DatasetError, load_dataset


@pytest.fixture(scope="module")
def six_class_folders(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic set as CK+-style class folders without neutral (6 classes)."""
    root = tmp_path_factory.mktemp("ck")
    faces = load_dataset(tiny_root)
    for i, (image, label) in enumerate(zip(faces.images, faces.labels, strict=True)):
        name = BASIC_EMOTIONS[label]
        if name != "neutral":
            (root / name).mkdir(exist_ok=True)
            cv2.imwrite(str(root / name / f"{i:03d}.png"), image)
    return root


def test_it_runs_both_directions_on_the_shared_classes(
    synthetic_root: Path, six_class_folders: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cross"
    argv = ["--train", str(synthetic_root), "--test", str(six_class_folders), "--out", str(out)]
    assert main([*argv, "--c-grid", "1,10", "--gamma-grid", "1", "--jobs", "1", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"] == [c for c in BASIC_EMOTIONS if c != "neutral"]
    assert metrics["forward"]["n_train"] == 168 - metrics_neutral(synthetic_root)
    n_folder = len(list(six_class_folders.rglob("*.png")))
    assert metrics["forward"]["n_test"] == n_folder and metrics["reverse"]["n_train"] == n_folder
    for direction in ("forward", "reverse"):
        assert 0.0 <= metrics[direction]["mean_diagonal"] <= 1.0
        assert np.asarray(metrics[direction]["confusion"]).shape == (6, 6)
        assert (out / f"confusion_{direction}.png").is_file()
    assert "->" in (out / "results.md").read_text()


def metrics_neutral(root: Path) -> int:
    faces = load_dataset(root)
    return int((faces.labels == BASIC_EMOTIONS.index("neutral")).sum())


def test_it_keeps_only_classes_with_images_in_both(synthetic_root: Path, six_class_folders: Path) -> None:
    first = load_dataset(synthetic_root)
    second = load_dataset(six_class_folders, require_splits=())
    classes = common_classes(first, second)
    assert "neutral" not in classes and len(classes) == 6
    kept = restrict(first, classes)
    assert kept.classes == classes and kept.labels.max() == 5
    with pytest.raises(DatasetError, match="share 1 classes"):
        run_crossdb(restrict(second, ("anger",)), restrict(first, ("anger",)), Path("unused"), progress=False)

from __future__ import annotations

from pathlib import Path

import numpy as np

from reliability.classes import BASIC_EMOTIONS
from training.synthetic import RAF_BASIC_COUNTS, class_counts, compound_parts, generate_subset, main


def _label_lines(subset_dir: Path) -> list[str]:
    return (subset_dir / "EmoLabel" / "list_patition_label.txt").read_text().splitlines()


def test_it_writes_the_release_layout_for_every_image(synthetic_root: Path) -> None:
    basic = synthetic_root / "basic"
    lines = _label_lines(basic)
    assert len(lines) == 168
    for line in lines:
        name, label = line.split()
        stem = name[:-4]
        assert 1 <= int(label) <= 7
        assert (basic / "Image" / "original" / name).is_file()
        assert (basic / "Image" / "aligned" / f"{stem}_aligned.jpg").is_file()
        assert len((basic / "Annotation" / "manual" / f"{stem}_manu_attri.txt").read_text().split()) == 13
        assert len((basic / "Annotation" / "auto" / f"{stem}_auto_attri.txt").read_text().splitlines()) == 37
        assert len((basic / "Annotation" / "boundingbox" / f"{stem}_boundingbox.txt").read_text().split()) == 4
    assert len((basic / "EmoLabel" / "distribution_basic.txt").read_text().splitlines()) == 168
    compound_labels = {int(line.split()[1]) for line in _label_lines(synthetic_root / "compound")}
    assert compound_labels == set(range(1, 12))


def test_it_is_deterministic_per_seed(tmp_path: Path) -> None:
    first = generate_subset(tmp_path / "a", subset="basic", n_images=30, seed=5, progress=False)
    second = generate_subset(tmp_path / "b", subset="basic", n_images=30, seed=5, n_jobs=2, progress=False)
    other = generate_subset(tmp_path / "c", subset="basic", n_images=30, seed=6, progress=False)
    name = "train_00003_aligned.jpg"
    assert (first / "Image" / "aligned" / name).read_bytes() == (second / "Image" / "aligned" / name).read_bytes()
    assert _label_lines(first) == _label_lines(second)
    assert (first / "Image" / "aligned" / name).read_bytes() != (other / "Image" / "aligned" / name).read_bytes()


def test_it_keeps_raf_db_class_imbalance_with_a_floor_per_class() -> None:
    proportions = [RAF_BASIC_COUNTS[c] for c in BASIC_EMOTIONS]
    counts = class_counts(15339, proportions)
    assert counts.tolist() == proportions  # RAF-DB size reproduces the release exactly
    small = class_counts(140, proportions)
    assert small.sum() == 140 and small.min() >= 10
    assert np.argmax(small) == BASIC_EMOTIONS.index("happiness")


def test_it_names_compound_parts_dominant_first() -> None:
    assert compound_parts("happily surprised") == ("happiness", "surprise")
    assert compound_parts("disgustedly surprised") == ("disgust", "surprise")


def test_it_runs_as_a_cli(tmp_path: Path) -> None:
    assert main(["--images", "21", "--compound", "22", "--seed", "1", "--out", str(tmp_path), "--jobs", "1"]) == 0
    assert len(_label_lines(tmp_path / "basic")) == 21
    assert len(_label_lines(tmp_path / "compound")) == 22

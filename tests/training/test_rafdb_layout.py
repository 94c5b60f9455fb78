"""The one RAF-DB layout reader (training.rafdb_layout), used by import_rafdb and training.datasets."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from training import rafdb_layout as layout

MANUAL = "10.0 20.0\n30.0 20.0\n20.0 30.0\n12.0 40.0\n28.0 40.0\n1\n2\n3\n"


def test_it_reads_a_manual_file_of_5_landmarks_and_3_attributes() -> None:
    manual = layout.parse_manual(MANUAL)
    assert manual.landmarks[0] == (10.0, 20.0) and len(manual.landmarks) == 5
    assert (manual.gender, manual.race, manual.age) == (1, 2, 3)


@pytest.mark.parametrize("lines", [5, 6, 9])
def test_it_refuses_a_manual_file_with_other_than_8_lines(lines: int) -> None:
    text = "\n".join((MANUAL.splitlines() + ["1"])[:lines]) + "\n"
    with pytest.raises(layout.LayoutError, match=f"5 landmark lines and 3 attribute lines .* got {lines} lines"):
        layout.parse_manual(text)


def test_it_round_trips_what_the_writers_write() -> None:
    points = [(10.0, 20.0), (30.0, 20.0), (20.0, 30.0), (12.0, 40.0), (28.0, 40.0)]
    manual = layout.parse_manual(layout.manual_text(points, 0, 3, 5))
    assert manual.landmarks == tuple(points) and (manual.gender, manual.race, manual.age) == (0, 3, 5)
    assert layout.parse_box(layout.box_text(1, 2, 3, 4)) == (1.0, 2.0, 3.0, 4.0)
    auto = [(float(i), float(i + 1)) for i in range(37)]
    assert layout.parse_auto(layout.auto_text(auto)) == [list(p) for p in auto]
    line = layout.distribution_line("train_00001.jpg", [0.5, 0.5, 0, 0, 0, 0, 0])
    assert layout.parse_distribution_file(line) == {"train_00001.jpg": [0.5, 0.5, 0, 0, 0, 0, 0]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train_00001.jpg 8\n", "unknown label 8, outside 1..7"),
        ("train_00001.jpg x\n", "not an integer"),
        ("val_00001.jpg 1\n", "line 1: 'val_00001.jpg' is not a RAF-DB image name"),
        ("train_00001.jpg 1\ntrain_00001.jpg 2\n", "line 2: train_00001.jpg is listed twice"),
        ("train_00001.jpg\n", "expected 'name label'"),
    ],
)
def test_it_refuses_a_bad_label_file(text: str, message: str) -> None:
    with pytest.raises(layout.LayoutError, match=message):
        layout.parse_label_file(text, subset="basic")


def test_it_names_the_missing_twelfth_compound_class() -> None:
    with pytest.raises(layout.LayoutError, match="fearfully disgusted, is not in the benchmark"):
        layout.parse_label_file("test_0001.jpg 12\n", subset="compound")


def test_it_requires_a_distribution_file_to_list_exactly_the_label_files_images() -> None:
    rows = layout.parse_distribution_file("train_00001.jpg 1 0 0 0 0 0 0\ntest_0001.jpg 0 1 0 0 0 0 0\n")
    assert layout.match_distributions(rows, ["test_0001.jpg", "train_00001.jpg"])[0][1] == 1.0
    with pytest.raises(layout.LayoutError, match="1 images not in the label file, e.g. test_0001.jpg"):
        layout.match_distributions(rows, ["train_00001.jpg"])
    with pytest.raises(layout.LayoutError, match="1 images of the label file without a distribution"):
        layout.match_distributions(rows, ["train_00001.jpg", "test_0001.jpg", "test_0002.jpg"])
    with pytest.raises(layout.LayoutError, match="sum to 1"):
        layout.parse_distribution_file("train_00001.jpg 0.5 0 0 0 0 0 0\n")


def test_it_is_the_only_parser_of_the_layout() -> None:
    """import_rafdb and training.datasets both read through training.rafdb_layout."""
    root = Path(__file__).resolve().parents[2]
    for relative in ("annotation/services/rafdb.py", "training/datasets.py"):
        tree = ast.parse((root / relative).read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "training"
            for alias in node.names
        }
        assert "rafdb_layout" in imported, relative
    assert not (root / "annotation" / "rafdb_layout.py").exists()

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS
from reliability.votes import VoteTable, VoteTableError


def test_it_maps_ids_to_dense_indices_and_names_to_labels() -> None:
    table = VoteTable.from_arrays(["b", "a", "b"], [10, 10, 7], ["fear", "neutral", "surprise"])
    assert table.annotator_ids.tolist() == ["a", "b"]
    assert table.image_ids.tolist() == [7, 10]
    assert table.annotator.tolist() == [1, 0, 1]
    assert table.image.tolist() == [1, 1, 0]
    assert table.label.tolist() == [1, 6, 0]
    assert table.classes == BASIC_EMOTIONS
    assert table.counts().tolist()[1] == [0, 1, 0, 0, 0, 0, 1]


@pytest.mark.parametrize(
    ("annotators", "images", "labels", "message"),
    [
        ([], [], [], "no votes"),
        ([1, 2], [1, 1], ["joy", "fear"], "unknown label 'joy'"),
        ([1, 2], [1, 1], [0, 7], "unknown label 7"),
        ([1, 1], [5, 5], [0, 1], "duplicate vote: annotator 1 voted twice on image 5"),
        ([1, 2], [1], [0, 1], "differ in length"),
    ],
)
def test_it_rejects_bad_votes_with_a_clear_error(annotators, images, labels, message) -> None:
    with pytest.raises(VoteTableError, match=message):
        VoteTable.from_arrays(annotators, images, labels)


def test_it_reads_a_csv_with_names_or_ints(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("annotator,image,label\nann1,img_1,happiness\nann2,img_1,3\nann2,1_000,neutral\n")
    table = VoteTable.from_csv(path, classes=BASIC_EMOTIONS)
    assert table.n_votes == 3 and table.n_images == 2
    assert sorted(table.image_ids.tolist()) == ["1_000", "img_1"]  # "1_000" is an id, not the number 1000
    assert table.label.tolist() == [3, 3, 6]
    # Without named classes, integers mixed with names are ambiguous: refused.
    with pytest.raises(VoteTableError, match="labels mix integers"):
        VoteTable.from_csv(path)


def test_it_reports_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("who,image,label\n1,1,0\n")
    with pytest.raises(VoteTableError, match="lacks column"):
        VoteTable.from_csv(path)


def test_it_drops_annotators_and_renumbers() -> None:
    table = VoteTable.from_arrays([1, 2, 3, 3], [1, 1, 1, 2], [0, 1, 2, 2])
    kept = table.subset_annotators(np.array([True, False, True]))
    assert kept.annotator_ids.tolist() == [1, 3]
    assert kept.annotator.tolist() == [0, 1, 1]
    assert kept.n_images == 2

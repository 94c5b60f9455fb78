from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS
from reliability.vote_files import infer_classes, read_votes_csv
from reliability.votes import VoteTable, VoteTableError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "votes.csv"
    path.write_text(text)
    return path


def test_it_reads_the_same_table_as_from_arrays(tmp_path: Path) -> None:
    path = write(tmp_path, "worker,task,label,extra\nw2,t1,fear,x\nw1,t1,anger,y\nw2,t2,fear,z\n")
    table = read_votes_csv(path)
    expected = VoteTable.from_arrays(["w2", "w1", "w2"], ["t1", "t1", "t2"], ["fear", "anger", "fear"])
    for field in ("annotator", "image", "label", "annotator_ids", "image_ids"):
        assert np.array_equal(getattr(table, field), getattr(expected, field)), field
    assert table.classes == BASIC_EMOTIONS


def test_integer_ids_stay_integers_and_blanks_are_stripped(tmp_path: Path) -> None:
    table = read_votes_csv(write(tmp_path, "annotator,image,label\n 10,7,a\n3, 7 ,b\n3,1_000,a\n"), classes=("a", "b"))
    assert table.annotator_ids.tolist() == [3, 10]
    assert table.image_ids.tolist() == ["1_000", "7"]  # one id is not an integer, so all are text
    assert table.n_images == 2 and table.label.tolist() == [0, 1, 0] and table.image.tolist() == [1, 1, 0]


@pytest.mark.parametrize(
    ("labels", "classes"),
    [
        (["3", "0", "10"], ("0", "3", "10")),
        (["fear", "anger"], BASIC_EMOTIONS),
        (["dog", "cat", "bird"], ("bird", "cat", "dog")),
    ],
)
def test_it_infers_the_classes(labels: list[str], classes: tuple[str, ...]) -> None:
    assert infer_classes(labels) == classes


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (["1", "cat"], "mix integers"),
        (["fear", "joy"], "mix the seven emotion names"),
        (["cat"], "every vote has the same label"),
        (["-2", "1"], "negative label"),
        ([], "no votes"),
    ],
)
def test_it_refuses_labels_it_cannot_read_as_classes(labels: list[str], reason: str) -> None:
    with pytest.raises(VoteTableError, match=reason):
        infer_classes(labels)


def test_it_reads_a_ten_class_crowd_with_integer_labels(tmp_path: Path) -> None:
    rows = "\n".join(f"w{j % 3},{j},{j % 10}" for j in range(30))
    table = read_votes_csv(write(tmp_path, "worker,task,label\n" + rows + "\n"))
    assert table.classes == tuple(str(k) for k in range(10))
    assert table.label.tolist() == [j % 10 for j in range(30)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file"),
        ("annotator,image,label\n", "no votes"),
        ("annotator,image,label\na,1,2\na,1,3\n", "duplicate vote: annotator 'a' voted twice on image 1"),
        ("annotator,image,label\na,,2\nb,1,3\n", "line 2 has an empty image"),
        ("annotator,image,label\na,1,2\nb,1\n", "Expected 3 columns, got 2"),
        ("annotator,label\na,1\n", "lacks column(s) image"),
    ],
)
def test_it_names_the_problem_with_a_bad_file(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(VoteTableError) as caught:
        read_votes_csv(write(tmp_path, text))
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_it_refuses_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_bytes(b"annotator,image,label\n\xff\xfe,1,2\n")
    with pytest.raises(VoteTableError, match="not a text CSV file"):
        read_votes_csv(path)


def test_an_id_beyond_int64_keeps_its_text(tmp_path: Path) -> None:
    table = read_votes_csv(write(tmp_path, "annotator,image,label\n18446744073709551615,1,a\n2,1,b\n"))
    assert table.annotator_ids.tolist() == ["18446744073709551615", "2"]
    assert table.image_ids.tolist() == [1]

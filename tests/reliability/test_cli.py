from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reliability.cli import main

ROOT = Path(__file__).resolve().parents[2]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_it_simulates_estimates_and_partitions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim, est, part = tmp_path / "sim", tmp_path / "est", tmp_path / "part"
    argv = ["simulate", "--images", "600", "--annotators", "30", "--votes-per-image", "10", "--seed", "1"]
    assert main([*argv, "--out", str(sim)]) == 0
    assert len(read(sim / "votes.csv")) == 6000 and len(read(sim / "truth.csv")) == 600
    assert main(["estimate", str(sim / "votes.csv"), "--out", str(est)]) == 0
    images = read(est / "images.csv")
    assert list(images[0]) == [
        "image",
        "label",
        "surprise",
        "fear",
        "disgust",
        "happiness",
        "sadness",
        "anger",
        "neutral",
        "difficulty",
    ]
    annotators = read(est / "annotators.csv")
    assert list(annotators[0]) == ["annotator", "reliability", "kept", "votes"]
    summary = json.loads((est / "summary.json").read_text())
    assert {
        "method",
        "iterations",
        "converged",
        "log_likelihood",
        "cronbach_alpha",
        "krippendorff_alpha",
        "annotators_kept",
        "seconds",
    } <= set(summary)
    assert main(["partition", str(est / "images.csv"), "--out", str(part), "--min-class-size", "5"]) == 0
    basic = read(part / "basic.csv")
    assert basic and set(basic[0]) == {"image", "label", "split"}
    assert {row["split"] for row in basic} == {"train", "test"}
    assert "[100%] done" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["ds", "mv", "mace"])
def test_it_estimates_with_other_methods(tmp_path: Path, method: str) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("annotator,image,label\na,1,happiness\nb,1,happiness\nc,1,fear\na,2,neutral\nb,2,neutral\n")
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out"), "--method", method]) == 0
    rows = read(tmp_path / "out" / "images.csv")
    assert [row["label"] for row in rows] == ["happiness", "neutral"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("annotator,image,label\na,1,joy\n", "unknown label 'joy'"),
        ("annotator,image,label\na,1,fear\na,1,anger\n", "duplicate vote"),
        ("annotator,image\na,1\n", "lacks column"),
        ("annotator,image,label\n", "no votes"),
    ],
)
def test_it_refuses_bad_votes_with_a_one_line_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, reason: str
) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text(content)
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and reason in last
    assert not (tmp_path / "out").exists()


def test_the_module_exits_non_zero_on_bad_input(tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("annotator,image,label\na,1,joy\n")
    done = subprocess.run(
        [sys.executable, "-m", "reliability", "estimate", str(votes), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "reading " + str(votes),
        "error: unknown label 'joy' (classes: surprise, fear, disgust, happiness, sadness, anger, neutral)",
    ]


def test_partition_rejects_a_file_that_is_not_images_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "images.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["partition", str(bad), "--out", str(tmp_path / "p")]) == 2
    assert "expected the images.csv header" in capsys.readouterr().err

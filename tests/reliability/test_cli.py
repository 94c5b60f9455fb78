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
    emotions = ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]
    assert list(images[0]) == [
        "image",
        "label",
        *(f"posterior_{c}" for c in emotions),
        *(f"g_{c}" for c in emotions),
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


@pytest.mark.parametrize("method", ["hds", "glad", "ds", "mv", "mace"])
def test_it_estimates_with_every_method(tmp_path: Path, method: str) -> None:
    sim = tmp_path / "sim"
    argv = ["simulate", "--images", "300", "--annotators", "20", "--votes-per-image", "8", "--seed", "2"]
    assert main([*argv, "--out", str(sim)]) == 0
    assert main(["estimate", str(sim / "votes.csv"), "--out", str(tmp_path / "out"), "--method", method]) == 0
    truth = {row["image"]: row["label"] for row in read(sim / "truth.csv")}
    rows = read(tmp_path / "out" / "images.csv")
    assert sum(row["label"] == truth[row["image"]] for row in rows) / len(rows) > 0.85


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("annotator,image,label\na,1,joy\nb,1,fear\n", "mix the seven emotion names with other names ('joy')"),
        ("annotator,image,label\na,1,fear\na,1,anger\n", "duplicate vote: annotator 'a' voted twice on image 1"),
        ("annotator,image\na,1\n", "lacks column"),
        ("annotator,image,label\n", "no votes"),
        ("", "empty file"),
        ("annotator,image,label\na,1,3\nb,1,cat\n", "labels mix integers (3) and names ('cat')"),
        ("annotator,image,label\na,1,cat\nb,1,cat\nb,2,cat\n", "every vote has the same label ('cat')"),
        ("annotator,image,label\na,1,-1\nb,1,2\n", "negative label -1"),
        ("annotator,image,label\na,1,\nb,1,2\n", "line 2 has an empty label"),
        ("annotator,image,label\na,1\n", "Expected 3 columns, got 2"),
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
    votes.write_text("annotator,image,label\na,1,joy\nb,1,fear\n")
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
        f"error: {votes}: labels mix the seven emotion names with other names ('joy'); "
        "correct them, or name every class with --classes",
    ]


def test_partition_rejects_a_file_that_is_not_images_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "images.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["partition", str(bad), "--out", str(tmp_path / "p")]) == 2
    assert "expected the images.csv header" in capsys.readouterr().err


def test_it_publishes_the_posterior_argmax_next_to_g(tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("annotator,image,label\na,1,happiness\nb,1,happiness\nc,1,fear\na,2,neutral\nb,2,neutral\n")
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out")]) == 0
    for row in read(tmp_path / "out" / "images.csv"):
        posterior = {key[len("posterior_") :]: float(v) for key, v in row.items() if key.startswith("posterior_")}
        g = {key[2:]: float(v) for key, v in row.items() if key.startswith("g_")}
        assert sum(posterior.values()) == pytest.approx(1.0, abs=1e-5)
        assert sum(g.values()) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == max(posterior, key=posterior.__getitem__)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["method"] == "hds" and summary["label_source"] == "posterior"


def test_it_takes_integer_classes_from_the_data(tmp_path: Path) -> None:
    # A 10-class crowd: labels 0..9, more than the seven emotions.
    votes = tmp_path / "votes.csv"
    lines = ["worker,task,label"] + [f"w{a},{j},{(j + (a == 2)) % 10}" for j in range(20) for a in range(3)]
    votes.write_text("\n".join(lines) + "\n")
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out")]) == 0
    rows = read(tmp_path / "out" / "images.csv")
    assert [key for key in rows[0] if key.startswith("posterior_")] == [f"posterior_{k}" for k in range(10)]
    assert [row["label"] for row in rows] == [str(j % 10) for j in range(20)]


def test_it_takes_class_names_from_the_data(tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("annotator,image,label\na,x,dog\nb,x,dog\nc,x,cat\na,y,cat\nb,y,cat\nc,y,bird\n")
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out"), "--method", "mv"]) == 0
    rows = read(tmp_path / "out" / "images.csv")
    assert [key for key in rows[0] if key.startswith("g_")] == ["g_bird", "g_cat", "g_dog"]
    assert [(row["image"], row["label"]) for row in rows] == [("x", "dog"), ("y", "cat")]


def test_named_classes_still_reject_an_unknown_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    votes = tmp_path / "votes.csv"
    votes.write_text("annotator,image,label\na,1,joy\nb,1,fear\n")
    classes = "surprise,fear,disgust,happiness,sadness,anger,neutral"
    assert main(["estimate", str(votes), "--out", str(tmp_path / "out"), "--classes", classes]) == 2
    assert "unknown label 'joy'" in capsys.readouterr().err


def test_partition_reads_images_csv_written_before_the_posterior_columns(tmp_path: Path) -> None:
    old = tmp_path / "images.csv"
    rows = ["image,label,a,b,c,difficulty"] + [f"{j},a,0.8,0.1,0.1," for j in range(12)]
    old.write_text("\n".join(rows) + "\n")
    assert main(["partition", str(old), "--out", str(tmp_path / "p"), "--min-class-size", "1"]) == 0
    assert len(read(tmp_path / "p" / "basic.csv")) == 12


def test_it_scores_the_published_labels_on_a_gold_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = tmp_path / "sim"
    argv = ["simulate", "--images", "200", "--annotators", "15", "--votes-per-image", "7", "--seed", "3"]
    assert main([*argv, "--out", str(sim)]) == 0
    gold = tmp_path / "gold.csv"
    truth = read(sim / "truth.csv")
    gold.write_text("task,label\n" + "".join(f"{r['image']},{r['label']}\n" for r in truth[:50]) + "9999,fear\n")
    assert main(["estimate", str(sim / "votes.csv"), "--out", str(tmp_path / "out"), "--gold", str(gold)]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["gold_file_rows"] == 51 and summary["gold_in_votes"] == summary["gold_images"] == 50
    low, high = summary["gold_accuracy_ci95"]
    assert low <= summary["gold_accuracy"] <= high and summary["gold_accuracy"] > 0.8
    assert "gold: " in capsys.readouterr().err
    gold.write_text("image,label\n1,joy\n")
    assert main(["estimate", str(sim / "votes.csv"), "--out", str(tmp_path / "o2"), "--gold", str(gold)]) == 2
    assert "line 2: unknown label 'joy'" in capsys.readouterr().err


def test_the_estimate_command_does_not_import_what_it_does_not_use() -> None:
    # Start-up is part of the command's time at RAF scale (bench/cli_scale.py): scipy.special
    # (~0.2 s, simulation and the adaptive prior only), matplotlib and pandas stay out of it.
    heavy = "('scipy.special', 'matplotlib', 'pandas')"
    code = f"import sys, reliability.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

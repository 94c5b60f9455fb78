from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from reliability.adaptive import AllocationPolicy
from reliability.cli import main
from reliability.replay import ReplayVotes, replay
from reliability.simulation import simulate_crowd
from reliability.votes import VoteTable


def write_votes(path: Path, *, spammer_fraction: float = 0.1, times: bool = True) -> None:
    crowd = simulate_crowd(
        n_images=300,
        n_annotators=40,
        votes_per_image=20,
        spammer_fraction=spammer_fraction,
        adversarial_fraction=spammer_fraction / 5,
        seed=4,
    )
    names = np.asarray(crowd.classes)
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["annotator", "image", "label", *(["time_ms"] if times else [])])
        for a, j, t in zip(crowd.annotator.tolist(), crowd.image.tolist(), names[crowd.label].tolist(), strict=True):
            fast = crowd.kind[a] == "spammer"
            extra = [f"{(200 if fast else 2500) * rng.uniform(0.5, 1.5):.0f}"] if times else []
            writer.writerow([f"a{a}", f"img{j}", t, *extra])


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_it_replays_adaptively_and_writes_images_and_summary(tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    write_votes(votes)
    out = tmp_path / "out"
    assert (
        main(["replay", str(votes), "--policy", "adaptive", "--min-votes", "5", "--seed", "3", "--out", str(out)]) == 0
    )
    rows = read(out / "images.csv")
    assert len(rows) == 300
    assert list(rows[0])[:3] == ["image", "label", "g_surprise"]
    assert {"subset", "votes_used"} <= set(rows[0])
    summary = json.loads((out / "summary.json").read_text())
    assert {"votes_total", "votes_used", "saved_fraction", "flagged_annotators"} <= set(summary)
    assert summary["votes_total"] == 6000
    assert 0.0 < summary["saved_fraction"] < 1.0
    assert summary["votes_used"] == sum(int(row["votes_used"]) for row in rows)
    assert all(5 <= int(row["votes_used"]) <= 20 for row in rows if row["subset"] == "basic")
    flagged = {entry["annotator"] for entry in summary["flagged_annotators"]}
    assert flagged and all(entry["reason"] for entry in summary["flagged_annotators"])
    # The reason is the test that fired at the flag; the votes counted the counted ones before it.
    assert all(
        0 <= entry["votes_before_flag"] <= entry["answers_before_flag"] for entry in summary["flagged_annotators"]
    )


def test_the_fixed_policy_takes_every_vote_of_unflagged_annotators(tmp_path: Path) -> None:
    votes = tmp_path / "votes.csv"
    write_votes(votes, spammer_fraction=0.0, times=False)
    out = tmp_path / "out"
    assert main(["replay", str(votes), "--policy", "fixed", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["saved_fraction"] == 0.0 and summary["votes_used"] == 6000


def test_the_same_seed_gives_the_same_replay() -> None:
    crowd = simulate_crowd(n_images=200, n_annotators=30, votes_per_image=15, seed=5)
    table = VoteTable.from_arrays(crowd.annotator, crowd.image, crowd.label)
    votes = ReplayVotes(table=table, time_ms=None, gold_label=np.full(table.n_images, -1))
    policy = AllocationPolicy(kind="adaptive", min_votes=5, max_votes=15)
    first, second = replay(votes, policy=policy, seed=9), replay(votes, policy=policy, seed=9)
    assert np.array_equal(first.taken, second.taken)
    assert first.votes_used.max() <= 15


@pytest.mark.parametrize(
    ("content", "args", "reason"),
    [
        (None, [], "no such file"),
        ("", [], "empty file"),
        ("annotator,image\na,1\n", [], "lacks column(s) label"),
        ("annotator,image,label\n", [], "no votes"),
        ("annotator,image,label\na,1,joy\n", [], "unknown label 'joy'"),
        ("annotator,image,label\na,1,fear\na,1,anger\n", [], "duplicate vote"),
        ("annotator,image,label,time_ms\na,1,fear,fast\n", [], "time_ms 'fast' is not a number"),
        ("annotator,image,label,time_ms\na,1,fear,-5\n", [], "time_ms must be a non-negative number"),
        ("annotator,image,label,time_ms\na,1,fear\n", [], "line 2 has too few columns"),
        ("annotator,image,label\na,1,fear\n", ["--min-votes", "5", "--max-votes", "3"], "--min-votes (5)"),
        ("annotator,image,label\na,1,0\n", ["--classes", "yes"], "at least two distinct names"),
    ],
)
def test_it_refuses_bad_input_with_a_one_line_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, args: list[str], reason: str
) -> None:
    votes = tmp_path / "votes.csv"
    if content is not None:
        votes.write_text(content)
    code = main(["replay", str(votes), "--policy", "adaptive", *args, "--out", str(tmp_path / "out")])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and reason in last
    assert not (tmp_path / "out").exists()


def test_it_refuses_a_gold_file_without_its_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    votes, gold = tmp_path / "votes.csv", tmp_path / "gold.csv"
    votes.write_text("annotator,image,label\na,1,fear\n")
    gold.write_text("task\n1\n")
    assert main(["replay", str(votes), "--policy", "fixed", "--gold", str(gold), "--out", str(tmp_path / "o")]) == 2
    assert "the gold file needs the header image,label" in capsys.readouterr().err


def test_it_needs_a_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(tmp_path / "v.csv"), "--policy", "sometimes", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_gold_answers_are_scored_never_counted(tmp_path: Path) -> None:
    votes, gold = tmp_path / "votes.csv", tmp_path / "gold.csv"
    write_votes(votes, spammer_fraction=0.0, times=False)
    with votes.open("a", newline="") as handle:
        writer = csv.writer(handle)
        for a in range(40):
            writer.writerow([f"a{a}", "gold1", "happiness"])
    gold.write_text("image,label\ngold1,happiness\n")
    out = tmp_path / "out"
    assert main(["replay", str(votes), "--policy", "fixed", "--gold", str(gold), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["gold_images"] == 1 and summary["votes_total"] == 6000
    assert "gold1" not in {row["image"] for row in read(out / "images.csv")}

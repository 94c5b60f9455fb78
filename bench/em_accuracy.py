"""Accuracy against gold of every estimator on the public crowdsourcing sets in the shared data.

For each set in ``$RAF_SHARED_DIR/crowd-data/`` (default: ``shared/`` beside the repository):
fit each method on ``labels.csv`` and score its labels on ``gold.csv``. The crowd-kit reference
figures (``CROWDKIT`` below) were measured with crowd-kit 1.4.2 in a separate environment
(crowd-kit is never installed with RAF) and the two targets are checked: our GLAD >= crowd-kit's
GLAD, and our best method >= the best of crowd-kit's MajorityVote, Wawa, DawidSkene, GLAD and MACE.
Last line: one JSON object ``{dataset: {method: accuracy}}``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from reliability.pipeline import METHODS, estimate, make_estimator  # noqa: E402
from reliability.votes import VoteTable  # noqa: E402

DATASETS = ("face", "dog", "web", "weather", "rte", "product")


def shared_dir() -> Path:
    return Path(os.environ.get("RAF_SHARED_DIR", REPO_ROOT.parent / "shared"))


def load(folder: Path) -> tuple[VoteTable, np.ndarray, np.ndarray]:
    """The vote table and the gold ``(image index, label)`` pairs of one set."""
    with (folder / "labels.csv").open(newline="") as handle:
        labels = [int(row["label"]) for row in csv.DictReader(handle)]
    table = VoteTable.from_csv(folder / "labels.csv", classes=max(labels) + 1)
    index = {str(image_id): j for j, image_id in enumerate(table.image_ids)}
    with (folder / "gold.csv").open(newline="") as handle:
        gold = [(index[row["task"]], int(row["label"])) for row in csv.DictReader(handle) if row["task"] in index]
    pairs = np.array(gold, dtype=np.int64).reshape(-1, 2)
    return table, pairs[:, 0], pairs[:, 1]


# Accuracy against gold measured with crowd-kit 1.4.2 in a separate environment (defaults, except
# DawidSkene(n_iter=100) and MACE(random_state=0); ties broken as crowd-kit does: first label in
# its column order). Sets missing here fall back to the shared folder's README table.
CROWDKIT: dict[str, dict[str, float]] = {
    "face": {"mv": 0.6301, "wawa": 0.6301, "ds": 0.6404, "glad": 0.6301, "mace": 0.6473},
    "dog": {"mv": 0.8178, "wawa": 0.8290, "ds": 0.8426, "glad": 0.8340, "mace": 0.8352},
    "web": {"mv": 0.7765, "wawa": 0.8168, "ds": 0.8292, "glad": 0.8217, "mace": 0.7931},
    "weather": {"mv": 0.8467, "wawa": 0.8567, "ds": 0.8400, "glad": 0.8533, "mace": 0.8600},
    "rte": {"mv": 0.9187, "wawa": 0.9213, "ds": 0.9275, "glad": 0.9263, "mace": 0.9150},
    "product": {"mv": 0.8966, "wawa": 0.8966, "ds": 0.9397, "glad": 0.9282, "mace": 0.8162},
}


def reference(readme: Path) -> dict[str, dict[str, float]]:
    """crowd-kit's figures from the README table: ``{set: {"glad": x, "best": y}}``."""
    out: dict[str, dict[str, float]] = {}
    if not readme.is_file():
        return out
    for line in readme.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in DATASETS:
            numbers = [float(m.group()) for cell in cells[1:] if (m := re.match(r"\.?\d[\d.]*", cell))]
            if len(numbers) == 4:
                out[cells[0]] = {"mv": numbers[0], "ds": numbers[1], "glad": numbers[2], "best": numbers[3]}
    return out


def main() -> None:
    root = shared_dir() / "crowd-data"
    refs = reference(root / "README.md")
    for name, figures in CROWDKIT.items():
        # A method not measured here keeps the README's figure (3 decimals) for GLAD.
        refs[name] = {"glad": refs.get(name, {}).get("glad", float("nan")), **figures, "best": max(figures.values())}
    results: dict[str, dict[str, float]] = {}
    columns = (*METHODS, "glad+filter")
    print(f"{'set':8} " + " ".join(f"{m:>11}" for m in columns) + "   ck-GLAD  ck-best   GLAD>=   best>=")
    for name in DATASETS:
        folder = root / name
        if not folder.is_dir():
            continue
        table, images, gold = load(folder)
        row: dict[str, float] = {}
        for method in METHODS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_estimator(method).fit(table)
            row[method] = round(float(np.mean(model.labels_[images] == gold)), 4)
        # What the platform stores: GLAD, filtering, refit, then argmax of the weighted votes g.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = estimate(table, method="glad")
        row["glad+filter"] = round(float(np.mean(pipeline.labels[images] == gold)), 4)
        results[name] = row
        ref = refs.get(name, {})
        best = max(row.values())
        # Measured references have 4 decimals (compare exactly); README ones 3 (compare at that).
        digits = 4 if name in CROWDKIT else 3
        glad_gap = round(row["glad"], digits) - ref.get("glad", float("nan"))
        best_gap = round(best, digits) - ref.get("best", float("nan"))
        ref_text = f"{ref.get('glad', float('nan')):7.4f}  {ref.get('best', float('nan')):7.4f}"
        print(
            f"{name:8} "
            + " ".join(f"{row[m]:11.4f}" for m in columns)
            + f"   {ref_text}  {_verdict(glad_gap):>7}  {_verdict(best_gap):>7}"
        )
    print(json.dumps(results))


def _verdict(gap: float) -> str:
    if gap != gap:  # NaN: no reference
        return "n/a"
    return "yes" if gap >= -1e-9 else f"{gap:+.4f}"


if __name__ == "__main__":
    main()

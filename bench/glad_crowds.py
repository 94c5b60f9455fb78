"""Our GLAD against crowd-kit's GLAD on simulated crowds that no setting was chosen on.

The six public crowds are too few, and every difference there is a handful of near-tied images;
this bench adds 44 seeded synthetic crowds whose votes do *not* follow GLAD's model: 2 to 10
classes, skewed class priors, confusions concentrated on one neighbouring class, spammers,
annotators who answer their favourite class whatever the image, and heavy-tailed workloads (a
few annotators doing most of the votes). crowd-kit stays a benchmark-only tool, run in an
environment of its own, so the bench has three steps:

    python bench/glad_crowds.py write DIR       # the crowds: DIR/<name>/labels.csv, gold.csv
    python bench/glad_crowds.py crowdkit DIR    # where crowd-kit is installed: DIR/crowdkit.json
    python bench/glad_crowds.py compare DIR     # this checkout's GLAD (and majority vote)

``write`` and ``crowdkit`` need numpy (and crowd-kit, pandas); ``compare`` prints one row per
crowd, the wins, ties and losses of our GLAD against crowd-kit's, and a JSON last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

# Named regimes, three seeds each; then 20 configurations drawn at random.
REGIMES: dict[str, dict[str, Any]] = {
    "k4-dense": dict(k=4, items=800, r=5, workers=60, zipf=1.5, spam=0.2, biased=0.05, confuse=0.6, skew=2, acc=4),
    "k4-sparse": dict(k=4, items=800, r=3, workers=300, zipf=1.2, spam=0.3, biased=0.1, confuse=0.3, skew=1, acc=3),
    "k4-ten": dict(k=4, items=600, r=10, workers=30, zipf=0, spam=0.1, biased=0.0, confuse=0.8, skew=5, acc=3),
    "k2-spam": dict(k=2, items=1000, r=5, workers=100, zipf=1.3, spam=0.3, biased=0.1, confuse=0, skew=0.7, acc=5),
    "k2-biased": dict(k=2, items=1500, r=3, workers=200, zipf=1.1, spam=0.2, biased=0.2, confuse=0, skew=0.5, acc=4),
    "k5": dict(k=5, items=1000, r=6, workers=150, zipf=1.3, spam=0.35, biased=0.05, confuse=0.7, skew=1, acc=3),
    "k10": dict(k=10, items=800, r=5, workers=80, zipf=1.5, spam=0.2, biased=0.05, confuse=0.5, skew=1, acc=3),
    "k3-biased": dict(k=3, items=1000, r=4, workers=40, zipf=0, spam=0.05, biased=0.3, confuse=0.5, skew=1, acc=2),
}


def configurations() -> dict[str, tuple[int, dict[str, Any]]]:
    """``{name: (seed, parameters)}`` of every crowd."""
    out = {
        f"{name}-{seed}": (zlib.crc32(name.encode()) + seed, params)
        for name, params in REGIMES.items()
        for seed in range(3)
    }
    rng = np.random.default_rng(7)
    for n in range(20):
        params = dict(
            k=int(rng.choice([2, 3, 4, 5, 7])),
            items=int(rng.integers(300, 700)),
            r=int(rng.choice([3, 4, 5, 7, 10])),
            workers=int(rng.integers(20, 250)),
            zipf=float(rng.choice([0, 1.1, 1.5, 2.5])),
            spam=float(rng.uniform(0, 0.35)),
            biased=float(rng.uniform(0, 0.25)),
            confuse=float(rng.uniform(0, 0.8)),
            skew=float(rng.choice([0.5, 1, 3])),
            acc=float(rng.uniform(2, 5)),
        )
        params["workers"] = max(params["workers"], params["r"] + 1)
        out[f"random-{n:02d}"] = (1000 + n, params)
    return out


def simulate(seed: int, *, k, items, r, workers, zipf, spam, biased, confuse, skew, acc) -> tuple[list, np.ndarray]:
    """Votes ``[(worker, item, label)]`` and the true labels ``(items,)``.

    Class prior ~ Dirichlet(skew); each class has one neighbouring class. An honest worker's
    accuracy ~ Beta(acc, 2), sharpened or blurred per item (log-normal item easiness); a wrong
    answer is the neighbour with probability ``confuse``, else uniform. Spammers answer uniformly;
    biased workers answer their favourite class 80% of the time. Workers are drawn per item
    with Pareto(zipf) activity weights (0: uniform).
    """
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, items, p=rng.dirichlet(np.full(k, skew)))
    neighbour = rng.permutation(k)
    neighbour = np.where(neighbour == np.arange(k), (np.arange(k) + 1) % k, neighbour)
    activity = rng.pareto(zipf, workers) + 1 if zipf else np.ones(workers)
    activity /= activity.sum()
    kind = rng.choice(3, workers, p=[1 - spam - biased, spam, biased])
    accuracy = rng.beta(acc, 2, workers)
    favourite = rng.integers(0, k, workers)
    easiness = np.exp(rng.normal(0, 0.7, items))
    votes = []
    for j in range(items):
        for i in rng.choice(workers, r, replace=False, p=activity):
            if kind[i] == 1:
                label = rng.integers(k)
            elif kind[i] == 2:
                label = favourite[i] if rng.random() < 0.8 else rng.integers(k)
            else:
                p = 1 / (1 + np.exp(-np.log(accuracy[i] / (1 - accuracy[i])) * easiness[j]))
                if rng.random() < p:
                    label = truth[j]
                elif rng.random() < confuse:
                    label = neighbour[truth[j]]
                else:
                    label = rng.integers(k - 1)
                    label += label >= truth[j]
            votes.append((int(i), j, int(label)))
    return votes, truth


def write(folder: Path) -> None:
    for name, (seed, params) in configurations().items():
        votes, truth = simulate(seed, **params)
        out = folder / name
        out.mkdir(parents=True, exist_ok=True)
        with (out / "labels.csv").open("w") as handle:
            handle.write("worker,task,label\n")
            handle.writelines(f"w{i},t{j},{label}\n" for i, j, label in votes)
        with (out / "gold.csv").open("w") as handle:
            handle.write("task,label\n")
            handle.writelines(f"t{j},{label}\n" for j, label in enumerate(truth))
        print(name, len(votes), "votes", file=sys.stderr)


def crowdkit(folder: Path) -> None:
    import pandas as pd
    from crowdkit.aggregation import GLAD, MajorityVote

    scores = {}
    for name in configurations():
        votes = pd.read_csv(folder / name / "labels.csv", dtype={"worker": str, "task": str})
        gold = pd.read_csv(folder / name / "gold.csv", dtype={"task": str})
        row = {}
        for method, model in (("glad", GLAD()), ("mv", MajorityVote())):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                labels = model.fit_predict(votes)
            row[method] = round(float(np.mean(labels.reindex(gold.task).to_numpy() == gold.label.to_numpy())), 4)
        scores[name] = row
        print(name, row, file=sys.stderr, flush=True)
    (folder / "crowdkit.json").write_text(json.dumps(scores, indent=1) + "\n")


def compare(folder: Path) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from em_accuracy import accuracy, fit_labels, load

    reference = json.loads((folder / "crowdkit.json").read_text())
    results, margins = {}, []
    print(f"{'crowd':11} {'ck GLAD':>8} {'ck MV':>7} {'GLAD':>7} {'margin':>7}")
    for name in configurations():
        table, images, gold = load(folder / name)
        ours = accuracy(fit_labels(table, "glad"), images, gold)
        margin = ours - reference[name]["glad"]
        results[name] = {"glad": ours, "ck_glad": reference[name]["glad"], "ck_mv": reference[name]["mv"]}
        margins.append(margin)
        print(f"{name:11} {reference[name]['glad']:8.4f} {reference[name]['mv']:7.4f} {ours:7.4f} {margin:+7.4f}")
    m = np.array(margins)
    summary = {
        "crowds": len(m),
        "wins": int(np.sum(m > 1e-9)),
        "ties": int(np.sum(np.abs(m) <= 1e-9)),
        "losses": int(np.sum(m < -1e-9)),
        "mean_margin": round(float(m.mean()), 4),
        "worst_margin": round(float(m.min()), 4),
    }
    print(summary)
    print(json.dumps({**results, "summary": summary}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("write", "crowdkit", "compare"))
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    {"write": write, "crowdkit": crowdkit, "compare": compare}[args.step](args.folder)


if __name__ == "__main__":
    main()

"""GLAD at RAF scale: 30,000 images x 40 votes from 315 annotators (1.2 M votes), or 10x that.

Times building the vote table from arrays plus the fit (the simulation is not timed), and the
peak resident memory of the process. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reliability.glad import GLAD  # noqa: E402
from reliability.simulation import simulate_crowd  # noqa: E402
from reliability.votes import VoteTable  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, choices=(1, 10), default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    crowd = simulate_crowd(
        n_images=30_000 * args.scale, n_annotators=315 * args.scale, votes_per_image=40, seed=args.seed
    )
    started = time.perf_counter()
    table = VoteTable.from_arrays(crowd.annotator, crowd.image, crowd.label, classes=crowd.classes)
    built = time.perf_counter()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        model = GLAD().fit(table)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "scale": args.scale,
                "votes": table.n_votes,
                "seconds": round(seconds, 3),
                "table_seconds": round(built - started, 3),
                "fit_seconds": round(seconds - (built - started), 3),
                "iterations": model.n_iter_,
                "converged": model.converged_,
                "peak_rss_mb": round(peak, 1),
                "accuracy": round(crowd.label_accuracy(model.labels_), 4),
                "majority_accuracy": round(crowd.label_accuracy(table.counts().argmax(axis=1)), 4),
            }
        )
    )


if __name__ == "__main__":
    main()

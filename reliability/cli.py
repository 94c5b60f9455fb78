"""``python -m reliability estimate|partition|simulate|replay``: the library on researchers' own files.

Progress goes to stderr; bad input exits with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reliability.filtering import FilterRule
from reliability.pipeline import METHODS, estimate
from reliability.replay_io import add_parser as add_replay_parser
from reliability.simulation import simulate_crowd
from reliability.subsets import partition
from reliability.votes import VoteTable, VoteTableError


class InputError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (InputError, VoteTableError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    est = sub.add_parser("estimate", help="reliability, distributions and agreement from a vote CSV")
    est.add_argument("votes", type=Path, help="CSV with header annotator,image,label")
    est.add_argument("--out", type=Path, required=True)
    est.add_argument("--method", choices=METHODS, default="glad")
    est.add_argument("--classes", help="comma-separated class names (default: the 7 basic emotions)")
    est.add_argument("--keep-fraction", type=float, default=0.5, help="filter rule fraction (docs/reliability.md)")
    est.add_argument("--min-accuracy", type=float, default=None, help="absolute accuracy floor instead")
    est.set_defaults(run=run_estimate)

    par = sub.add_parser("partition", help="basic and compound subsets from images.csv")
    par.add_argument("images", type=Path, help="images.csv written by estimate")
    par.add_argument("--out", type=Path, required=True)
    par.add_argument("--min-class-size", type=int, default=20)
    par.add_argument("--test-fraction", type=float, default=1 / 6)
    par.add_argument("--seed", type=int, default=0)
    par.set_defaults(run=run_partition)

    sim = sub.add_parser("simulate", help="a simulated crowd: votes.csv and truth.csv")
    sim.add_argument("--images", type=int, required=True)
    sim.add_argument("--annotators", type=int, required=True)
    sim.add_argument("--votes-per-image", type=int, required=True)
    sim.add_argument("--spammers", type=float, default=0.05)
    sim.add_argument("--adversarial", type=float, default=0.02)
    sim.add_argument("--compound", type=float, default=0.2)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--out", type=Path, required=True)
    sim.set_defaults(run=run_simulate)

    add_replay_parser(sub)
    return parser


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_estimate(args: argparse.Namespace) -> int:
    classes = tuple(name.strip() for name in args.classes.split(",")) if args.classes else None
    if not args.votes.is_file():
        raise InputError(f"{args.votes}: no such file")
    _say(f"reading {args.votes}")
    table = VoteTable.from_csv(args.votes, classes=classes)
    _say(f"{table.n_votes} votes, {table.n_annotators} annotators, {table.n_images} images")
    rule = FilterRule(fraction=args.keep_fraction, min_accuracy=args.min_accuracy)
    params: dict[str, object] = {}
    if args.method == "glad":  # per-iteration progress for the long part
        params["progress"] = lambda i, ll: _say(f"       iteration {i}: log-likelihood {ll:.2f}")
    result = estimate(
        table, method=args.method, params=params, rule=rule, progress=lambda f, m: _say(f"[{f:4.0%}] {m}")
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "images.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", *table.classes, "difficulty"])
        difficulty = result.difficulty
        for j in range(table.n_images):  # writing rows of a file; the estimation is vectorised
            writer.writerow(
                [
                    table.image_ids[j],
                    table.classes[result.labels[j]],
                    *(f"{p:.6f}" for p in result.distribution[j]),
                    "" if difficulty is None else f"{difficulty[j]:.6f}",
                ]
            )
    with (args.out / "annotators.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["annotator", "reliability", "kept", "votes"])
        for i in range(table.n_annotators):
            writer.writerow(
                [table.annotator_ids[i], f"{result.reliability[i]:.6f}", int(result.kept[i]), int(result.votes[i])]
            )
    (args.out / "summary.json").write_text(json.dumps(result.summary(), indent=2) + "\n")
    _say(f"wrote {args.out}/images.csv, annotators.csv, summary.json")
    return 0


def run_partition(args: argparse.Namespace) -> int:
    if not args.images.is_file():
        raise InputError(f"{args.images}: no such file")
    with args.images.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = [row for row in reader if row]
    if not header or len(header) < 4 or header[0] != "image" or header[1] != "label":
        raise InputError(f"{args.images}: expected the images.csv header image,label,<classes...>,difficulty")
    classes = tuple(header[2:-1]) if header[-1] == "difficulty" else tuple(header[2:])
    if not rows:
        raise InputError(f"{args.images}: no images")
    try:
        g = np.array([[float(v) for v in row[2 : 2 + len(classes)]] for row in rows])
    except ValueError as exc:
        raise InputError(f"{args.images}: distribution values must be numbers ({exc})") from exc
    if g.shape != (len(rows), len(classes)) or np.any(g < 0) or not np.all(np.isfinite(g)):
        raise InputError(f"{args.images}: every row needs {len(classes)} non-negative distribution values")
    images = [row[0] for row in rows]
    _say(f"partitioning {len(images)} images")
    part = partition(
        g, classes=classes, min_class_size=args.min_class_size, test_fraction=args.test_fraction, seed=args.seed
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in ("basic", "compound"):
        with (args.out / f"{kind}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "label", "split"])
            for j in np.flatnonzero(part.subset == kind):
                writer.writerow([images[j], part.name[j], part.split[j]])
        _say(f"{kind}: {int(np.sum(part.subset == kind))} images")
    if part.dropped:
        _say(f"dropped small classes: {', '.join(part.dropped)}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    crowd = simulate_crowd(
        n_images=args.images,
        n_annotators=args.annotators,
        votes_per_image=args.votes_per_image,
        spammer_fraction=args.spammers,
        adversarial_fraction=args.adversarial,
        compound_fraction=args.compound,
        seed=args.seed,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    names = np.asarray(crowd.classes)
    _say(f"writing {crowd.label.shape[0]} votes")
    with (args.out / "votes.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["annotator", "image", "label"])
        writer.writerows(zip(crowd.annotator.tolist(), crowd.image.tolist(), names[crowd.label].tolist(), strict=True))
    with (args.out / "truth.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "second_label", "difficulty"])
        second = np.where(crowd.second_label >= 0, names[np.maximum(crowd.second_label, 0)], "")
        writer.writerows(
            zip(
                range(crowd.true_label.shape[0]),
                names[crowd.true_label].tolist(),
                second.tolist(),
                np.round(1.0 / crowd.beta, 6).tolist(),
                strict=True,
            )
        )
    with (args.out / "annotators_truth.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["annotator", "kind", "alpha"])
        writer.writerows(zip(range(crowd.kind.shape[0]), crowd.kind.tolist(), crowd.alpha.tolist(), strict=True))
    _say(f"wrote {args.out}/votes.csv, truth.csv, annotators_truth.csv")
    return 0

"""``python -m reliability estimate|partition|simulate|replay``: the library on researchers' own files.

``estimate`` writes ``images.csv`` with, per image: ``label`` (the argmax of the estimator's
posterior: the published label), ``posterior_<class>`` (the estimator's posterior over the true
class), ``g_<class>`` (the paper's reliability-weighted vote distribution, which ``partition``
turns into the basic/compound subsets) and ``difficulty`` (GLAD only).

Progress goes to stderr; bad input exits with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reliability.filtering import FilterRule
from reliability.gold import gold_score
from reliability.pipeline import DEFAULT_METHOD, METHODS, ReliabilityEstimate, estimate
from reliability.replay_io import add_parser as add_replay_parser
from reliability.subsets import partition
from reliability.votes import ALIASES, VoteTable, VoteTableError


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
    est.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD, help=f"estimator (default: {DEFAULT_METHOD})")
    est.add_argument(
        "--classes",
        help="comma-separated class names in label order (default: taken from the labels: integers, "
        "the seven emotions, or other names)",
    )
    est.add_argument(
        "--gold",
        type=Path,
        help="CSV with header image,label (task,label accepted) of known labels: summary.json gets the "
        "published labels' accuracy on them with a Wilson 95%% interval",
    )
    est.add_argument("--keep-fraction", type=float, default=0.5, help="filter rule fraction (docs/reliability.md)")
    est.add_argument("--min-accuracy", type=float, default=None, help="absolute accuracy floor instead")
    est.set_defaults(run=run_estimate)

    par = sub.add_parser("partition", help="basic and compound subsets from images.csv")
    par.add_argument("images", type=Path, help="images.csv written by estimate")
    par.add_argument("--out", type=Path, required=True)
    par.add_argument("--min-class-size", type=int, default=20)
    par.add_argument("--test-fraction", type=float, default=0.2)  # the released benchmark's 4:1
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
    started = time.perf_counter()
    table = VoteTable.from_csv(args.votes, classes=classes)
    read_seconds = time.perf_counter() - started
    _say(f"{table.n_votes} votes, {table.n_annotators} annotators, {table.n_images} images")
    gold_index, gold_label = read_gold_csv(args.gold, table=table) if args.gold else (None, None)
    rule = FilterRule(fraction=args.keep_fraction, min_accuracy=args.min_accuracy)
    params: dict[str, object] = {}
    if args.method == "glad":  # per-iteration progress for the long part
        params["progress"] = lambda i, ll: _say(f"       iteration {i}: log-likelihood {ll:.2f}")
    result = estimate(
        table, method=args.method, params=params, rule=rule, progress=lambda f, m: _say(f"[{f:4.0%}] {m}")
    )
    gold: dict[str, object] = {}
    score = None
    if gold_index is not None and gold_label is not None:
        gold = {"gold_file_rows": int(gold_index.shape[0]), "gold_in_votes": int(np.sum(gold_index >= 0))}
        scored = gold_index >= 0
        if scored.any():
            score = gold_score(result.labels[gold_index[scored]], gold_label[scored])
            gold.update(score.as_metrics())
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_images_csv(args.out / "images.csv", table=table, result=result)
    with (args.out / "annotators.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["annotator", "reliability", "kept", "votes"])
        for i in range(table.n_annotators):
            writer.writerow(
                [table.annotator_ids[i], f"{result.reliability[i]:.6f}", int(result.kept[i]), int(result.votes[i])]
            )
    timing = {"read_seconds": round(read_seconds, 3), "write_seconds": round(time.perf_counter() - started, 3)}
    summary = {**result.summary(), **timing, **gold}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if score is not None:
        _say(f"gold: {score.accuracy:.4f} of {score.n} images (95% CI {score.low:.4f} to {score.high:.4f})")
    _say(f"wrote {args.out}/images.csv, annotators.csv, summary.json")
    return 0


def read_gold_csv(path: Path, *, table: VoteTable) -> tuple[np.ndarray, np.ndarray]:
    """Known labels of some images: each row's image index in ``table`` (-1 when nobody voted on
    it) and class index, both ``(n_rows,)`` int64. Labels are class names or 0-based indices."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in next(reader, [])]
        if "image" not in header or "label" not in header:
            raise InputError(f"{path}: expected a header with columns image (or task) and label")
        at_image, at_label = header.index("image"), header.index("label")
        rows = [row for row in reader if row]
    if not rows:
        raise InputError(f"{path}: no gold labels")
    images = {str(image_id): j for j, image_id in enumerate(table.image_ids.tolist())}
    classes = {name: k for k, name in enumerate(table.classes)}
    index, label = [], []
    for line, row in enumerate(rows, start=2):  # a few hundred rows: a plain loop
        if len(row) <= max(at_image, at_label):
            raise InputError(f"{path}: line {line} has too few columns")
        text = row[at_label].strip()
        if text in classes:
            label.append(classes[text])
        elif text.isdigit() and int(text) < len(table.classes):
            label.append(int(text))
        else:
            raise InputError(f"{path}: line {line}: unknown label {text!r} (classes: {', '.join(table.classes)})")
        index.append(images.get(row[at_image].strip(), -1))
    return np.array(index, dtype=np.int64), np.array(label, dtype=np.int64)


def write_images_csv(path: Path, *, table: VoteTable, result: ReliabilityEstimate) -> None:
    """``image,label,posterior_<class>...,g_<class>...,difficulty`` (module docstring)."""
    k = table.n_classes
    numbers = np.hstack([result.posterior, result.distribution])  # (J, 2K)
    row_format = ",".join(["%.6f"] * (2 * k))  # one %-format per row: ~10x faster than csv.writer here
    difficulty = [""] * table.n_images if result.difficulty is None else [f"{d:.6f}" for d in result.difficulty]
    header = ["image", "label", *(f"posterior_{c}" for c in table.classes), *(f"g_{c}" for c in table.classes)]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerow([*header, "difficulty"])
        quote = csv.writer(_LineBuffer(), lineterminator="")  # ids and class names may need CSV quoting
        names = [quote.writerow([name]) for name in table.classes]
        ids = [quote.writerow([image_id]) for image_id in table.image_ids.tolist()]
        handle.writelines(
            f"{image_id},{names[label]},{row_format % tuple(row)},{diff}\r\n"
            for image_id, label, row, diff in zip(
                ids, result.labels.tolist(), numbers.tolist(), difficulty, strict=True
            )
        )


class _LineBuffer:
    """A file-like ``write`` that hands back what it was given: ``csv.writer(_LineBuffer())
    .writerow(row)`` returns the row as one CSV-quoted line."""

    def write(self, line: str) -> str:
        return line


def images_csv_distribution_columns(header: list[str]) -> tuple[tuple[str, ...], list[int]]:
    """Class names and the column positions of ``g`` in an images.csv header: the ``g_<class>``
    columns, or (files written before the posterior columns) every column between ``label`` and
    ``difficulty``."""
    g_columns = [i for i, name in enumerate(header) if name.startswith("g_")]
    if g_columns:
        return tuple(header[i][2:] for i in g_columns), g_columns
    end = len(header) - 1 if header[-1] == "difficulty" else len(header)
    return tuple(header[2:end]), list(range(2, end))


def run_partition(args: argparse.Namespace) -> int:
    if not args.images.is_file():
        raise InputError(f"{args.images}: no such file")
    with args.images.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = [row for row in reader if row]
    if not header or len(header) < 4 or header[0] != "image" or header[1] != "label":
        raise InputError(
            f"{args.images}: expected the images.csv header "
            "image,label,posterior_<classes...>,g_<classes...>,difficulty"
        )
    classes, columns = images_csv_distribution_columns(header)
    if not rows:
        raise InputError(f"{args.images}: no images")
    try:
        g = np.array([[float(row[i]) for i in columns] for row in rows])
    except (ValueError, IndexError) as exc:
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
    from reliability.simulation import simulate_crowd  # scipy.special: only this command needs it

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

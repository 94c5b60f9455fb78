"""Reading replay input and the ``python -m reliability replay`` command.

The engine is :mod:`reliability.replay`; this module reads ``annotator,image,label[,time_ms]``
files (and the optional gold file) and writes ``images.csv`` and ``summary.json``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reliability.adaptive import AllocationPolicy
from reliability.replay import ReplayVotes, _plain, replay
from reliability.votes import ALIASES, VoteTable, VoteTableError, _label_indices


def _maybe_int(column: np.ndarray) -> np.ndarray:
    """A string column as int64 when every value is an integer, else the strings."""
    # Checked by hand: numpy's int parsing accepts "1_000", which would merge distinct ids.
    if column.shape[0] and np.all(np.char.isdigit(np.char.lstrip(column, "-"))):
        try:
            return column.astype(np.int64)
        except (ValueError, OverflowError):
            return column
    return column


def read_replay_votes(
    path: str | Path, *, classes: Sequence[str] | int | None = None, gold: str | Path | None = None
) -> ReplayVotes:
    """Read ``annotator,image,label[,time_ms]`` (``worker``/``task`` accepted) and the optional
    gold file ``image,label``. Raises :class:`VoteTableError` with a one-line reason.

    A small CSV reader of its own (issue 13 brings a columnar one for ``estimate``; they can be
    unified): it needs the optional ``time_ms`` column the table does not keep."""
    path = Path(path)
    header, rows = _read_csv(path)
    names = [ALIASES.get(name, name) for name in header]
    missing = [name for name in ("annotator", "image", "label") if name not in names]
    if missing:
        raise VoteTableError(f"{path}: header lacks column(s) {', '.join(missing)}")
    cols = [names.index(name) for name in ("annotator", "image", "label")]
    time_col = names.index("time_ms") if "time_ms" in names else None
    width = max(cols + ([time_col] if time_col is not None else []))
    for number, row in enumerate(rows):
        if len(row) <= width:
            raise VoteTableError(f"{path}: line {number + 2} has too few columns")
    data = np.array([[row[c].strip() for c in cols] for row in rows], dtype=str)
    table = VoteTable.from_arrays(
        _maybe_int(data[:, 0]), _maybe_int(data[:, 1]), _maybe_int(data[:, 2]), classes=classes
    )
    time_ms = None
    if time_col is not None:
        time_ms = np.full(len(rows), np.nan)
        for number, row in enumerate(rows):
            value = row[time_col].strip()
            if not value:
                continue
            try:
                time_ms[number] = float(value)
            except ValueError:
                raise VoteTableError(f"{path}: line {number + 2}: time_ms {value!r} is not a number") from None
            if not np.isfinite(time_ms[number]) or time_ms[number] < 0:
                raise VoteTableError(f"{path}: line {number + 2}: time_ms must be a non-negative number")
    gold_label = np.full(table.n_images, -1, dtype=np.int64)
    if gold is not None:
        gold_label = _read_gold(Path(gold), table)
    if (gold_label < 0).sum() == 0:
        raise VoteTableError(f"{path}: every image is a gold image; nothing to replay")
    return ReplayVotes(table=table, time_ms=time_ms, gold_label=gold_label)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise VoteTableError(f"{path}: no such file")
    try:
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [row for row in reader if row]
    except UnicodeDecodeError as exc:
        raise VoteTableError(f"{path}: not a text CSV file") from exc
    except (OSError, csv.Error) as exc:
        raise VoteTableError(f"{path}: {exc}") from exc
    if header is None:
        raise VoteTableError(f"{path}: empty file")
    if not rows:
        raise VoteTableError(f"{path}: no votes")
    return [name.strip().lower() for name in header], rows


def _read_gold(path: Path, table: VoteTable) -> np.ndarray:
    header, rows = _read_csv(path)
    names = [ALIASES.get(name, name) for name in header]
    if "image" not in names or "label" not in names:
        raise VoteTableError(f"{path}: the gold file needs the header image,label")
    ci, cl = names.index("image"), names.index("label")
    if any(len(row) <= max(ci, cl) for row in rows):
        raise VoteTableError(f"{path}: a line has too few columns")
    ids = _maybe_int(np.array([row[ci].strip() for row in rows], dtype=str))
    labels = _label_indices(_maybe_int(np.array([row[cl].strip() for row in rows], dtype=str)), table.classes)
    index = {_plain(value): j for j, value in enumerate(table.image_ids)}
    gold_label = np.full(table.n_images, -1, dtype=np.int64)
    for image_id, value in zip(ids.tolist(), labels.tolist(), strict=True):
        j = index.get(image_id)
        if j is not None:
            gold_label[j] = value
    return gold_label


def add_parser(sub: Any) -> None:
    """Register ``replay`` on the CLI's subcommand parsers."""
    rep = sub.add_parser("replay", help="replay votes through an allocation policy and the spammer rules")
    rep.add_argument("votes", type=Path, help="CSV with header annotator,image,label[,time_ms]")
    rep.add_argument("--policy", choices=("fixed", "adaptive"), required=True)
    rep.add_argument("--min-votes", type=int, default=10, help="adaptive: never retire an image with fewer")
    rep.add_argument("--max-votes", type=int, default=None, help="never more per image (default: the most any has)")
    rep.add_argument("--confidence", type=float, default=AllocationPolicy.confidence, help="adaptive: stopping rule")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--classes", help="comma-separated class names (default: the 7 basic emotions)")
    rep.add_argument("--gold", type=Path, help="CSV image,label: gold images (scored, never counted)")
    rep.add_argument("--out", type=Path, required=True)
    rep.set_defaults(run=run_replay)


def run_replay(args: Any) -> int:
    """The ``replay`` command: writes ``images.csv`` and ``summary.json`` under ``--out``."""
    from reliability.subsets import partition

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    classes = tuple(name.strip() for name in args.classes.split(",")) if args.classes else None
    say(f"reading {args.votes}")
    votes = read_replay_votes(args.votes, classes=classes, gold=args.gold)
    table = votes.table
    per_image = np.bincount(table.image[~votes.is_gold_vote], minlength=table.n_images)
    max_votes = args.max_votes if args.max_votes is not None else max(int(per_image.max()), 1)
    if args.min_votes < 1 or max_votes < args.min_votes:
        raise ValueError(f"--min-votes ({args.min_votes}) must be at least 1 and at most --max-votes ({max_votes})")
    policy = AllocationPolicy(
        kind=args.policy, min_votes=args.min_votes, max_votes=max_votes, confidence=args.confidence
    )
    say(f"{table.n_votes} answers, {table.n_annotators} annotators, {table.n_images} images; policy {policy.kind}")
    result = replay(votes, policy=policy, seed=args.seed, progress=say)
    g = result.estimate.distribution
    regular = np.flatnonzero(votes.gold_label < 0)
    part = partition(g[regular], classes=table.classes, min_class_size=0)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "images.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        distribution = [f"g_{name}" for name in table.classes]
        writer.writerow(["image", "label", *distribution, "subset", "subset_label", "votes_used"])
        for row, j in enumerate(regular):  # writing rows of a file; the replay itself is vectorised
            writer.writerow(
                [
                    _plain(table.image_ids[j]),
                    table.classes[int(g[j].argmax())],
                    *(f"{p:.6f}" for p in g[j]),
                    part.subset[row],
                    part.name[row],
                    int(result.votes_used[j]),
                ]
            )
    summary = result.summary()
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    flagged = len(summary["flagged_annotators"])
    say(f"saved {summary['saved_fraction']:.1%} of the votes; flagged {flagged} annotator(s)")
    say(f"wrote {args.out}/images.csv, summary.json")
    return 0

"""Vote files to :class:`~reliability.votes.VoteTable`: a columnar CSV reader and class inference.

Shared by every command that reads a researcher's votes (``python -m reliability estimate``,
the benchmarks, replays). The file is parsed by Arrow's multi-threaded CSV reader, and the three
columns go to numpy without a Python loop over rows: a 1.2 M-vote file reads in well under a
second instead of the ~5 s of a ``csv`` module loop.

Class inference (:func:`infer_classes`), used when the caller names no classes:

- integer labels: the classes are the distinct integers in ascending order, named by their
  decimal text (``0..K-1`` in the public crowds; a class no vote uses cannot be inferred);
- names that are all among the seven basic emotions: the seven emotions in the paper's order;
- other names: the distinct names in sorted order;
- integers mixed with names, or emotion names mixed with other names (a typo such as
  ``hapiness`` would otherwise become a class of its own), or a single class: a
  :class:`~reliability.votes.VoteTableError` that says so.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reliability.classes import BASIC_EMOTIONS
from reliability.votes import ALIASES, VoteTable, VoteTableError, first_repeat

COLUMNS = ("annotator", "image", "label")


def read_votes_csv(path: str | Path, *, classes: Sequence[str] | int | None = None) -> VoteTable:
    """Read a vote CSV (header ``annotator,image,label``; ``worker``/``task`` accepted; extra
    columns ignored) into a :class:`VoteTable`.

    ``classes`` names the classes (or gives their number); when None they are inferred from the
    labels (module docstring). Identifiers that are all integers become int64 ids, others
    strings; ids are sorted as in :meth:`VoteTable.from_arrays`. Raises
    :class:`VoteTableError` with a one-line reason for every kind of bad file.
    """
    path = Path(path)
    header = _header(path)
    positions = {name: header.index(name) for name in COLUMNS}
    try:
        arrow = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=[f"c{i}" for i in range(len(header))]),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=[f"c{positions[name]}" for name in COLUMNS],
                # Text, not inferred types: an id beyond int64 would otherwise become a float.
                column_types={f"c{positions[name]}": pa.string() for name in COLUMNS},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise VoteTableError(f"{path}: {_arrow_reason(exc)}") from exc
    if arrow.num_rows == 0:
        raise VoteTableError(f"{path}: no votes")
    encoded = {}
    for name in COLUMNS:
        try:
            encoded[name] = _encode_ids(arrow.column(f"c{positions[name]}"), keep_text=name == "label")
        except _EmptyCell as empty:
            raise VoteTableError(f"{path}: line {empty.row + 2} has an empty {name}") from None
    (annotator_ids, annotator), (image_ids, image) = encoded["annotator"], encoded["image"]
    values, label_codes = encoded["label"]
    names = tuple(str(v) for v in values)
    try:
        class_names = _class_names_for(names, classes)
        label = _label_codes(names, label_codes, class_names)
    except VoteTableError as exc:
        raise VoteTableError(f"{path}: {exc}") from exc
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise VoteTableError(f"{path}: classes must be at least two distinct names")
    # The codes are already dense indices into the sorted ids: the table is built directly.
    table = VoteTable(
        annotator=annotator,
        image=image,
        label=label,
        annotator_ids=annotator_ids,
        image_ids=image_ids,
        classes=class_names,
    )
    dup = _first_duplicate_vote(table)
    if dup >= 0:
        raise VoteTableError(
            f"{path}: duplicate vote: annotator {table.annotator_ids[table.annotator[dup]].item()!r} voted twice "
            f"on image {table.image_ids[table.image[dup]].item()!r}"
        )
    return table


def _first_duplicate_vote(table: VoteTable) -> int:
    """Position of the first vote repeating an (annotator, image) pair, or -1. A one-byte mark
    per pair when the pairs fit in 64 MB (RAF scale: 9.5 MB, one scatter and one count), else
    one sort; the sort also names the culprit when there is one."""
    key = table.annotator * np.int64(table.n_images) + table.image  # (n_votes,)
    n_pairs = table.n_annotators * table.n_images
    if n_pairs <= 64_000_000:
        seen = np.zeros(n_pairs, dtype=bool)
        seen[key] = True
        if int(np.count_nonzero(seen)) == table.n_votes:
            return -1
    return first_repeat(key)


def infer_classes(labels: Sequence[str]) -> tuple[str, ...]:
    """Class names for the distinct label texts ``labels`` (module docstring for the rules)."""
    distinct = sorted(set(labels))
    if not distinct:
        raise VoteTableError("no votes")
    numeric = [text for text in distinct if _is_int(text)]
    if numeric and len(numeric) != len(distinct):
        other = next(text for text in distinct if not _is_int(text))
        raise VoteTableError(
            f"labels mix integers ({numeric[0]}) and names ({other!r}); "
            "use one kind, or name the classes with --classes"
        )
    if numeric:
        values = sorted({int(text) for text in numeric})
        if values[0] < 0:
            raise VoteTableError(f"negative label {values[0]}; labels must be class indices >= 0 or names")
        names = tuple(str(v) for v in values)
    elif set(distinct) <= set(BASIC_EMOTIONS):
        names = BASIC_EMOTIONS
    else:
        emotions = [text for text in distinct if text in BASIC_EMOTIONS]
        if emotions:
            stray = ", ".join(repr(text) for text in distinct if text not in BASIC_EMOTIONS)
            raise VoteTableError(
                f"labels mix the seven emotion names with other names ({stray}); "
                "correct them, or name every class with --classes"
            )
        names = tuple(distinct)
    if len(names) < 2:
        raise VoteTableError(f"every vote has the same label ({names[0]!r}): at least two classes are needed")
    return names


def _header(path: Path) -> list[str]:
    try:
        with path.open(newline="") as handle:
            first = next(csv.reader(handle), None)
    except OSError as exc:
        raise VoteTableError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise VoteTableError(f"{path}: not a text CSV file") from exc
    if not first:
        raise VoteTableError(f"{path}: empty file")
    header = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in first]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise VoteTableError(f"{path}: header lacks column(s) {', '.join(missing)}")
    return header


def _arrow_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc) or "utf8" in str(exc):
        return "not a text CSV file"
    message = str(exc).strip().splitlines()[0]
    return message.replace("CSV parse error: ", "").rstrip(":")


class _EmptyCell(Exception):
    def __init__(self, row: int) -> None:
        self.row = row


def _encode_ids(column: pa.ChunkedArray, *, keep_text: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values ``(n_ids,)`` and each row's index into them ``(n_rows,)`` int64.

    Values are stripped of surrounding blanks, and int64 when every one is an integer (unless
    ``keep_text``), else strings. The column is dictionary-encoded first, so the per-value work
    (stripping, parsing, sorting) runs over the distinct values only.
    """
    encoded = pc.dictionary_encode(column.combine_chunks())
    codes = _as_int64(encoded.indices)  # (n_rows,)
    text = [value.strip() for value in encoded.dictionary.to_pylist()]  # distinct, first-seen order
    if "" in text:
        raise _EmptyCell(int(np.flatnonzero(codes == text.index(""))[0]))
    values: np.ndarray = np.asarray(text, dtype=str)
    if not keep_text and all(_is_int(v) for v in text):
        try:
            values = values.astype(np.int64)
        except (ValueError, OverflowError):
            pass
    distinct, inverse = np.unique(values, return_inverse=True)  # merges "a" and " a"
    return distinct, inverse.ravel().astype(np.int64)[codes]


def _as_int64(array: pa.Array) -> np.ndarray:
    """A null-free Arrow integer array as int64 numpy ``(n,)``, read from its data buffer:
    ``Array.to_numpy`` would import pandas when it is installed (~0.5 s per process)."""
    if array.type != pa.int64():
        array = array.cast(pa.int64())
    data = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return data[array.offset : array.offset + len(array)]


def _class_names_for(names: tuple[str, ...], classes: Sequence[str] | int | None) -> tuple[str, ...]:
    if classes is None:
        return infer_classes(names)
    if isinstance(classes, int):
        return tuple(str(k) for k in range(classes))
    return tuple(str(name) for name in classes)


def _label_codes(names: tuple[str, ...], codes: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """Class index of each vote ``(n_votes,)``: a label matches a class name, or is an integer
    index into ``classes`` when no class has that name."""
    lookup = {name: k for k, name in enumerate(classes)}
    mapped = np.empty(len(names), dtype=np.int64)
    for i, text in enumerate(names):  # a loop over the distinct labels, not over votes
        if text in lookup:
            mapped[i] = lookup[text]
        elif _is_int(text) and 0 <= int(text) < len(classes):
            mapped[i] = int(text)
        elif _is_int(text):
            raise VoteTableError(f"unknown label {int(text)} (expected 0..{len(classes) - 1})")
        else:
            raise VoteTableError(f"unknown label {text!r} (classes: {', '.join(classes)})")
    return mapped[codes]


def _is_int(text: str) -> bool:
    # By hand: Python's int() accepts "1_000" and " 7", which would merge distinct ids.
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()

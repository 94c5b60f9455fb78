"""The RAF-DB release layout (PAPER.md 7): file names and the text formats of its files.

The one reader and writer of the layout's text files, shared by the platform's export (writer),
``import_rafdb`` (reader) and :mod:`training.datasets` (reader), so that what one writes the
others read back under the same rules. Pure functions on text; callers add the file's name to
a :class:`LayoutError`'s message. Labels here are RAF-DB's 1-based numbers; the platform
stores 0-based indices (basic: index into the 7 basic classes; compound: index into
:data:`reliability.classes.COMPOUND_EMOTIONS`).

The rules (one set, for every reader):

- ``list_patition_label.txt``: ``name label`` per line (blank lines skipped); the name is
  ``train_<digits>.jpg`` or ``test_<digits>.jpg`` (the split comes from this prefix, never from
  the line's position); the label is an integer in 1..7 (basic) or 1..11 (compound); a name
  listed twice is an error.
- ``*_manu_attri.txt``: exactly 8 non-blank lines: 5 landmark lines ``x y`` (left eye, right
  eye, nose, left and right mouth corner), then gender (0..2), race (0..3) and age (0..5), one
  integer a line (3 and 5 are the platform's "unsure"; the release uses 0..2 and 0..4). A file
  with only the 5 landmark lines is refused: the release always holds the attributes.
- ``*_auto_attri.txt``: exactly 37 lines ``x y`` (tab or space separated).
- ``*_boundingbox.txt``: ``x1 y1 x2 y2`` with ``x2 > x1`` and ``y2 > y1``.
- ``distribution_<subset>.txt``: ``name p1 ... p7`` per line (the crowd's 7-d basic
  distribution, for both subsets), values >= 0 summing to 1 (+-0.02), and the file lists
  exactly the images of the label file (:func:`match_distributions`).
- Every number is finite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK

SUBSETS: tuple[str, ...] = ("basic", "compound")
SPLITS: tuple[str, ...] = ("train", "test")
# RAF-DB's class lists per subset (label k in the files is index k-1 here).
SUBSET_CLASSES: dict[str, tuple[str, ...]] = {"basic": BASIC_EMOTIONS, "compound": COMPOUND_BENCHMARK}
NAME_RE = re.compile(r"^(train|test)_(\d+)\.jpg$")
# RAF-DB's zero padding: basic train_00001 / test_0001, compound train_0001 / test_0001.
_NAME_WIDTH = {("basic", "train"): 5, ("basic", "test"): 4, ("compound", "train"): 4, ("compound", "test"): 4}

LABEL_FILE = "EmoLabel/list_patition_label.txt"  # sic: "patition", as released
ORIGINAL_DIR = "Image/original"
ALIGNED_DIR = "Image/aligned"
MANUAL_DIR = "Annotation/manual"
BOX_DIR = "Annotation/boundingbox"
AUTO_DIR = "Annotation/auto"
N_AUTO_LANDMARKS = 37


def distribution_file(subset: str) -> str:
    """Where the export writes a subset's distribution file (inside the subset folder)."""
    return f"EmoLabel/distribution_{subset}.txt"


class LayoutError(ValueError):
    """A file of the layout that cannot be parsed."""


def raf_name(*, subset: str, split: str, number: int, count: int) -> str:
    """``train_00001.jpg``-style name of the ``number``-th (1-based) image of a split of
    ``count`` images, zero-padded as RAF-DB (wider when the split has more images)."""
    width = max(_NAME_WIDTH[(subset, split)], len(str(count)))
    return f"{split}_{number:0{width}d}.jpg"


def stem(name: str) -> str:
    return name[: -len(".jpg")] if name.endswith(".jpg") else name


def aligned_name(name: str) -> str:
    return f"{stem(name)}_aligned.jpg"


def manual_name(name: str) -> str:
    return f"{stem(name)}_manu_attri.txt"


def auto_name(name: str) -> str:
    return f"{stem(name)}_auto_attri.txt"


def box_name(name: str) -> str:
    return f"{stem(name)}_boundingbox.txt"


def split_of(name: str) -> str:
    """The split from the ``train_``/``test_`` prefix (never from a line's position)."""
    match = NAME_RE.match(name)
    if not match:
        raise LayoutError(f"{name!r} is not a RAF-DB image name (train_NNNNN.jpg or test_NNNN.jpg)")
    return match.group(1)


def name_sort_key(name: str) -> tuple[int, int]:
    """Train before test, then by number: the order RAF-DB lists its images in."""
    match = NAME_RE.match(name)
    if not match:
        raise LayoutError(f"{name!r} is not a RAF-DB image name")
    return (SPLITS.index(match.group(1)), int(match.group(2)))


def _number(value: float) -> str:
    return f"{value:.2f}"


# --- writers -------------------------------------------------------------------------------


def label_line(name: str, label: int) -> str:
    """One line of ``list_patition_label.txt``; ``label`` is RAF-DB's 1-based number."""
    return f"{name} {label}\n"


def manual_text(landmarks: Sequence[Sequence[float]], gender: int, race: int, age: int) -> str:
    """``*_manu_attri.txt``: 5 lines "x y" (RAF-DB landmark order), then gender, race, age."""
    lines = [f"{_number(x)}\t{_number(y)}" for x, y in landmarks]
    return "\n".join([*lines, str(gender), str(race), str(age)]) + "\n"


def auto_text(points: Sequence[Sequence[float]]) -> str:
    """``*_auto_attri.txt``: 37 lines "x<TAB>y"."""
    return "".join(f"{_number(x)}\t{_number(y)}\n" for x, y in points)


def box_text(x1: float, y1: float, x2: float, y2: float) -> str:
    return " ".join(_number(v) for v in (x1, y1, x2, y2)) + "\n"


def distribution_line(name: str, distribution: Sequence[float]) -> str:
    return name + " " + " ".join(f"{p:.4f}" for p in distribution) + "\n"


# --- readers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualAnnotation:
    landmarks: tuple[tuple[float, float], ...]  # (5, 2) image pixels
    gender: int
    race: int
    age: int


def parse_label_file(text: str, *, subset: str) -> list[tuple[str, int]]:
    """``[(name, label)]`` with RAF-DB's 1-based labels, checked against the subset's classes;
    a name listed twice is an error."""
    if subset not in SUBSET_CLASSES:
        raise LayoutError(f"unknown subset {subset!r} (basic or compound)")
    n_classes = len(SUBSET_CLASSES[subset])
    rows: list[tuple[str, int]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise LayoutError(f"line {number}: expected 'name label', got {line.strip()!r}")
        name, raw = parts
        try:
            split_of(name)
        except LayoutError as error:
            raise LayoutError(f"line {number}: {error}") from None
        try:
            label = int(raw)
        except ValueError:
            raise LayoutError(f"line {number}: label {raw!r} is not an integer") from None
        if not 1 <= label <= n_classes:
            hint = " (the 12th compound class, fearfully disgusted, is not in the benchmark)" if label == 12 else ""
            raise LayoutError(
                f"line {number}: unknown label {label}, outside 1..{n_classes} for the {subset} subset{hint}"
            )
        if name in seen:
            raise LayoutError(f"line {number}: {name} is listed twice")
        seen.add(name)
        rows.append((name, label))
    return rows


def _floats(parts: Sequence[str], what: str) -> list[float]:
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise LayoutError(f"{what}: not numbers: {' '.join(parts)!r}") from None
    if not all(v == v and abs(v) != float("inf") for v in values):
        raise LayoutError(f"{what}: NaN or infinite value")
    return values


def parse_manual(text: str) -> ManualAnnotation:
    """A ``*_manu_attri.txt`` file: exactly 5 landmark lines and 3 attribute lines."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) != 8:
        raise LayoutError(
            f"expected 5 landmark lines and 3 attribute lines (gender, race, age), got {len(lines)} lines"
        )
    points = []
    for i, parts in enumerate(lines[:5]):
        if len(parts) != 2:
            raise LayoutError(f"landmark line {i + 1}: expected 'x y'")
        x, y = _floats(parts, f"landmark line {i + 1}")
        points.append((x, y))
    try:
        gender, race, age = (int(parts[0]) for parts in lines[5:])
    except ValueError:
        raise LayoutError("gender, race and age must be integers") from None
    if any(len(parts) != 1 for parts in lines[5:]):
        raise LayoutError("gender, race and age lines hold one integer each")
    if gender not in (0, 1, 2) or race not in (0, 1, 2, 3) or age not in (0, 1, 2, 3, 4, 5):
        raise LayoutError(f"attribute codes out of range: gender {gender}, race {race}, age {age}")
    return ManualAnnotation(landmarks=tuple(points), gender=gender, race=race, age=age)


def parse_auto(text: str) -> list[list[float]]:
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if len(lines) != N_AUTO_LANDMARKS or any(len(parts) != 2 for parts in lines):
        raise LayoutError(f"expected {N_AUTO_LANDMARKS} lines 'x y', got {len(lines)} lines")
    return [_floats(parts, f"auto landmark {i + 1}") for i, parts in enumerate(lines)]


def parse_box(text: str) -> tuple[float, float, float, float]:
    parts = text.split()
    if len(parts) != 4:
        raise LayoutError(f"expected 'x1 y1 x2 y2', got {text.strip()!r}")
    x1, y1, x2, y2 = _floats(parts, "bounding box")
    if not (x2 > x1 and y2 > y1):
        raise LayoutError(f"empty bounding box {x1} {y1} {x2} {y2}")
    return x1, y1, x2, y2


def parse_distribution_file(text: str, *, n_classes: int = 7) -> dict[str, list[float]]:
    """``{name: [p1 .. pK]}`` of a distribution file (each line checked; see the module docstring)."""
    rows: dict[str, list[float]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n_classes + 1:
            raise LayoutError(f"distribution line {number}: expected a name and {n_classes} numbers")
        split_of(parts[0])
        values = _floats(parts[1:], f"distribution line {number}")
        if any(v < 0 for v in values) or abs(sum(values) - 1.0) > 0.02:
            raise LayoutError(f"distribution line {number}: values must be >= 0 and sum to 1")
        if parts[0] in rows:
            raise LayoutError(f"distribution line {number}: {parts[0]} is listed twice")
        rows[parts[0]] = values
    return rows


def match_distributions(rows: dict[str, list[float]], names: Sequence[str]) -> list[list[float]]:
    """The distributions of ``names`` in their order; the file must list exactly those images."""
    extra = sorted(set(rows) - set(names))
    if extra:
        raise LayoutError(f"{len(extra)} images not in the label file, e.g. {', '.join(extra[:5])}")
    missing = [name for name in names if name not in rows]
    if missing:
        raise LayoutError(
            f"{len(missing)} images of the label file without a distribution, e.g. {', '.join(missing[:5])}"
        )
    return [rows[name] for name in names]

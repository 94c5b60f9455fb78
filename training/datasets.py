"""Expression datasets: one in-memory shape (:class:`FaceSet`) and readers for the formats RAF
meets — the RAF-DB release layout, a manifest CSV (what the platform exports) and one image
folder per class.

Every reader yields aligned 100x100 grey faces. Where a source holds only original photos and
the 5 manual landmarks, the faces are aligned here with :func:`training.alignment.align_face`
(the paper's similarity transform). Landmarks are always returned in aligned 100x100
coordinates, mapped with the same transform. (A release's own aligned images may have used a
slightly different template; the shape features only need a consistent similarity
normalisation, which this gives.)

Bad input raises :class:`DatasetError` with a message that names the file and the problem:
missing files, unknown labels, an empty split, mismatched counts.

Formats (see ``docs/training.md``):

- RAF-DB release (PAPER.md 7): a folder holding ``basic/`` and/or ``compound/``, or a subset
  folder itself (``EmoLabel/list_patition_label.txt`` with 1-based labels; split by the
  ``train_``/``test_`` name prefix; ``Image/aligned`` or ``Image/original`` +
  ``Annotation/manual``; optional ``Annotation/auto`` (37 points), ``Annotation/boundingbox``,
  ``distribution_<subset>.txt``).
- Manifest CSV (a ``.csv`` file, or a folder holding ``manifest.csv``): columns
  ``path,label,split`` then optionally ``lx1,ly1,...,lx5,ly5`` and ``p_<class>`` columns.
  ``label`` is a class name or a 0-based index; paths are relative to the CSV's folder.
- Class folders: ``DIR/<class>/*.jpg`` (split 4:1 stratified with a fixed seed, or by a
  ``train_``/``test_`` file-name prefix) or ``DIR/train/<class>/`` + ``DIR/test/<class>/``.
- FER-2013 (+ FERPlus's votes), CK+ and JAFFE in their distributed formats:
  :mod:`training.public_datasets`.

The release layout's text files are parsed by :mod:`training.rafdb_layout`, the reader the
platform's ``import_rafdb`` uses too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK, COMPOUND_EMOTIONS
from training import rafdb_layout as layout
from training.alignment import ALIGNED_SIZE, LandmarkError, align_face, similarity_matrix

T = TypeVar("T")
# CK+ and FERPlus label contempt too: an eighth class after the paper's seven.
BASIC_WITH_CONTEMPT: tuple[str, ...] = (*BASIC_EMOTIONS, "contempt")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
SPLITS = ("train", "test")  # every dataset's two splits
# A reader may also hand over a validation split its source defines (FER-2013's PublicTest);
# otherwise training carves one from train (:func:`validation_split`).
ALL_SPLITS = ("train", "val", "test")
# The released RAF-DB benchmark's proportions: 12,271 / 3,068 is train:test = 4:1 (the paper's
# text says 5:1; docs/training.md).
TEST_FRACTION = 0.2
# Folder-name spellings accepted for the basic classes (CK+/FER-style names included).
CLASS_ALIASES: dict[str, str] = {
    "surprised": "surprise",
    "fearful": "fear",
    "afraid": "fear",
    "disgusted": "disgust",
    "happy": "happiness",
    "joy": "happiness",
    "sad": "sadness",
    "angry": "anger",
}


class DatasetError(ValueError):
    """A dataset that cannot be read: missing files, unknown labels, empty split, mismatched counts."""


@dataclass(frozen=True)
class FaceSet:
    """Aligned faces with labels, in memory.

    ``names`` (N,) str; ``images`` (N, 100, 100) uint8 grey; ``labels`` (N,) int64, 0-based into
    ``classes``; ``split`` (N,) str "train"/"test" (or "val" where the source defines one);
    ``landmarks`` (N, 5, 2) float32 in aligned coordinates or None; ``distributions`` (N, K)
    float32 or None; ``auto_landmarks`` (N, 37, 2) float32 aligned coordinates or None;
    ``attributes`` (N, 3) int64 gender, race, age or None; ``boxes`` (N, 4) float32 x1 y1 x2 y2
    in the original image or None.
    """

    names: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    classes: tuple[str, ...]
    landmarks: np.ndarray | None = None
    distributions: np.ndarray | None = None
    auto_landmarks: np.ndarray | None = None
    attributes: np.ndarray | None = None
    boxes: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.names.shape[0]
        if self.images.shape != (n, ALIGNED_SIZE, ALIGNED_SIZE) or self.images.dtype != np.uint8:
            raise DatasetError(f"images must be ({n}, 100, 100) uint8, got {self.images.shape} {self.images.dtype}")
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray) and value.shape[0] != n:
                raise DatasetError(f"mismatched counts: {n} names but {value.shape[0]} {field.name}")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise DatasetError(f"labels must lie in 0..{len(self.classes) - 1}")
        if self.distributions is not None and self.distributions.shape[1] != len(self.classes):
            raise DatasetError(
                f"mismatched counts: distributions have {self.distributions.shape[1]} columns "
                f"for {len(self.classes)} classes"
            )

    def __len__(self) -> int:
        return int(self.names.shape[0])

    def select(self, index: np.ndarray) -> FaceSet:
        """The faces at ``index`` (bool mask or integer indices), same classes."""
        changes = {
            field.name: getattr(self, field.name)[index]
            for field in fields(self)
            if isinstance(getattr(self, field.name), np.ndarray)
        }
        return replace(self, **changes)

    def where(self, split: str) -> FaceSet:
        """The faces of one split ("train", "val" or "test"); raises :class:`DatasetError` when empty."""
        if split not in ALL_SPLITS:
            raise DatasetError(f"unknown split {split!r} (train, val or test)")
        mask = self.split == split
        if not mask.any():
            raise DatasetError(f"the {split} split is empty")
        return self.select(mask)

    def class_counts(self) -> np.ndarray:
        """Images per class ``(K,)`` int64."""
        return np.bincount(self.labels, minlength=len(self.classes))


def concatenate(first: FaceSet, second: FaceSet) -> FaceSet:
    """The faces of two sets of the same classes, ``first``'s then ``second``'s; an optional array
    present in only one of them is dropped."""
    if first.classes != second.classes:
        raise DatasetError(f"cannot join sets of different classes: {first.classes} and {second.classes}")
    changes: dict[str, np.ndarray | None] = {}
    for field in fields(first):
        a, b = getattr(first, field.name), getattr(second, field.name)
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            changes[field.name] = np.concatenate([a, b])
        elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            changes[field.name] = None
    return replace(first, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- entry point


def load_dataset(
    path: str | Path,
    *,
    subset: str = "basic",
    source: str = "auto",
    require_splits: Sequence[str] = SPLITS,
    splits: Sequence[str] = ALL_SPLITS,
    contempt: bool = True,
) -> FaceSet:
    """Read a dataset in any supported format (auto-detected; see the module docstring).

    ``subset`` picks ``basic/`` or ``compound/`` in a release folder and the class list for
    integer manifest labels. ``source`` ("auto", "aligned", "original") picks the release's
    aligned images or aligns the originals from the manual landmarks. Only the images of
    ``splits`` are read (training passes ``("train", "val")``, so the test split stays unread);
    each split named in ``require_splits`` must hold at least one image. ``contempt`` keeps
    contempt as an eighth class in FERPlus and CK+ data (False: its images are left out).
    """
    from training import public_datasets

    if subset not in ("basic", "compound"):
        raise DatasetError(f"unknown subset {subset!r} (basic or compound)")
    unknown_splits = sorted(set(splits) - set(ALL_SPLITS))
    if unknown_splits:
        raise DatasetError(f"unknown splits {unknown_splits} (train, val or test)")
    if source not in ("auto", "aligned", "original"):
        raise DatasetError(f"unknown image source {source!r} (auto, aligned or original)")
    root = Path(path)
    if not root.exists():
        raise DatasetError(f"missing files: {root} does not exist")
    public = public_datasets.detect(root)
    if public is not None:
        faces = public_datasets.read(public, root, splits=splits, contempt=contempt)
    elif root.is_file():
        if root.suffix.lower() != ".csv":
            raise DatasetError(f"{root} is a file but not a manifest CSV")
        faces = read_manifest(root, subset=subset, splits=splits)
    elif (root / subset / "EmoLabel").is_dir():
        faces = read_release(root / subset, subset=subset, source=source, splits=splits)
    elif (root / "EmoLabel").is_dir():
        folder_subset = root.name if root.name in ("basic", "compound") else subset
        faces = read_release(root, subset=folder_subset, source=source, splits=splits)
    elif (root / "manifest.csv").is_file():
        faces = read_manifest(root / "manifest.csv", subset=subset, splits=splits)
    elif any(child.is_dir() for child in root.iterdir()):
        faces = read_class_folders(root, subset=subset, splits=splits)
    else:
        raise DatasetError(
            f"{root} is not a dataset: expected a RAF-DB release folder (basic/ or EmoLabel/), a manifest "
            "CSV, one image folder per class, FER-2013 (+ FERPlus votes), CK+ or JAFFE"
        )
    if len(faces) == 0:
        raise DatasetError(f"{root} holds no images")
    for split in require_splits:
        if not np.any(faces.split == split):
            raise DatasetError(f"the {split} split of {root} is empty")
    return faces


# ---------------------------------------------------------------------------- helpers


def subset_classes(subset: str) -> tuple[str, ...]:
    return BASIC_EMOTIONS if subset == "basic" else COMPOUND_BENCHMARK


def split_of(name: str) -> str:
    """RAF-DB splits by the name prefix, not by line position."""
    base = Path(name).name
    for split in SPLITS:
        if base.startswith(f"{split}_"):
            return split
    raise DatasetError(f"cannot tell the split of {name!r}: the name must start with train_ or test_")


def stratified_split(labels: np.ndarray, rng: np.random.Generator, fraction: float = TEST_FRACTION) -> np.ndarray:
    """``(N,)`` bool, True for the held-out part: ``fraction`` of every class (at least one when
    the class has two or more images, never all of it), so both parts have near-identical class
    distributions. The default 0.2 is the released benchmark's train:test = 4:1."""
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"a split fraction must lie strictly between 0 and 1, got {fraction}")
    held_out = np.zeros(labels.shape[0], dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if members.size >= 2:
            held_out[members[: min(members.size - 1, max(1, int(round(members.size * fraction))))]] = True
    return held_out


def validation_split(train: FaceSet, fraction: float, seed: int) -> tuple[FaceSet, FaceSet | None]:
    """Carve a stratified, seeded validation split from a training set, for model selection:
    ``(train minus validation, validation)``; ``fraction`` 0 gives ``(train, None)``. Only the
    training split is read, so choices made on it never see the test split."""
    if fraction <= 0.0:
        return train, None
    held_out = stratified_split(train.labels, np.random.default_rng([seed, 1_000_003]), fraction)
    if not held_out.any():
        return train, None
    validation = train.select(held_out)
    return train.select(~held_out), replace(validation, split=np.full(len(validation), "val"))


def _read_grey(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DatasetError(f"cannot read image {path}")
    return image


def _to_aligned(image: np.ndarray, landmarks: np.ndarray | None, where: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey image + optional landmarks (image coordinates) -> 100x100 face + landmarks (aligned).

    A 100x100 image is taken as already aligned (landmarks as aligned coordinates); a larger
    one is aligned from its landmarks, or, without landmarks, taken as a face crop and resized.
    """
    if image.shape == (ALIGNED_SIZE, ALIGNED_SIZE):
        return image, None if landmarks is None else np.asarray(landmarks, dtype=np.float32)
    if landmarks is None:
        return cv2.resize(image, (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_AREA), None
    try:
        matrix = similarity_matrix(landmarks, image_shape=image.shape)
    except LandmarkError as error:
        raise DatasetError(f"{where}: {error}") from error
    aligned = align_face(image, landmarks)
    return aligned, map_points(landmarks, matrix)


def map_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to points ``(..., 2)``."""
    return (np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def _load_many(paths: Sequence[Path]) -> list[np.ndarray]:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        shown = ", ".join(str(p) for p in missing[:3])
        raise DatasetError(f"missing files: {len(missing)} of {len(paths)} images, e.g. {shown}")
    # OpenCV decodes without the GIL, so threads overlap the JPEG work.
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(_read_grey, paths, chunksize=64))


# ---------------------------------------------------------------------------- RAF-DB release


def _parse_file(path: Path, parse: Callable[[str], T]) -> T:
    """Parse one text file of the layout with :mod:`training.rafdb_layout`; errors name the file."""
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (layout.LayoutError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: {error}") from error


def read_label_file(path: Path, subset: str) -> tuple[list[str], np.ndarray]:
    """``list_patition_label.txt`` -> names and 0-based labels ``(N,)`` int64."""
    if not path.is_file():
        raise DatasetError(f"missing files: label file {path}")
    rows = _parse_file(path, lambda text: layout.parse_label_file(text, subset=subset))
    return [name for name, _ in rows], np.asarray([label - 1 for _, label in rows], dtype=np.int64)


def _find_distribution_file(folder: Path, subset: str) -> Path | None:
    # Copies differ: EmoLabel/ (as the export writes it), the subset folder, or beside it.
    for candidate in (folder / "EmoLabel", folder, folder.parent):
        path = candidate / f"distribution_{subset}.txt"
        if path.is_file():
            return path
    return None


def read_distributions(path: Path, names: Sequence[str]) -> np.ndarray:
    """``name p1 ... p7`` lines -> ``(N, 7)`` float32 rows in the order of ``names``; the file
    must list exactly ``names``."""
    rows = _parse_file(path, layout.parse_distribution_file)
    try:
        return np.asarray(layout.match_distributions(rows, names), dtype=np.float32)
    except layout.LayoutError as error:
        raise DatasetError(f"mismatched counts: {path}: {error}") from error


def _annotation_paths(folder: Path, names: Sequence[str], name_of: Callable[[str], str], what: str) -> list[Path]:
    paths = [folder / name_of(name) for name in names]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"missing files: {len(missing)} {what} files, e.g. {missing[0]}")
    return paths


def read_release(folder: Path, *, subset: str, source: str = "auto", splits: Sequence[str] = ALL_SPLITS) -> FaceSet:
    """One subset folder of the RAF-DB release layout (see the module docstring); only the
    images of ``splits`` are read."""
    classes = subset_classes(subset)
    all_names, all_labels = read_label_file(folder / layout.LABEL_FILE, subset)
    all_split = np.array([layout.split_of(name) for name in all_names])
    # The crowd's distribution is 7-d basic for both subsets; only the basic set's classes match it.
    all_distributions = None
    dist_path = _find_distribution_file(folder, subset)
    if dist_path is not None and subset == "basic":
        all_distributions = read_distributions(dist_path, all_names)
    keep = np.isin(all_split, list(splits))
    names = [name for name, kept in zip(all_names, keep, strict=True) if kept]
    labels, split = all_labels[keep], all_split[keep]
    distributions = None if all_distributions is None else all_distributions[keep]

    aligned_dir, original_dir = folder / layout.ALIGNED_DIR, folder / layout.ORIGINAL_DIR
    manual_dir = folder / layout.MANUAL_DIR
    if source == "auto":
        source = "aligned" if aligned_dir.is_dir() else "original"
    if source == "original" and not manual_dir.is_dir():
        raise DatasetError(f"missing files: {manual_dir} (landmarks are needed to align {original_dir})")

    landmarks_raw = attributes = None
    if manual_dir.is_dir():
        manual_paths = _annotation_paths(manual_dir, names, layout.manual_name, "landmark")
        parsed = [_parse_file(p, layout.parse_manual) for p in manual_paths]
        landmarks_raw = np.asarray([m.landmarks for m in parsed], dtype=np.float64)  # (N, 5, 2)
        attributes = np.asarray([(m.gender, m.race, m.age) for m in parsed], dtype=np.int64)

    if not names:
        return FaceSet(
            names=np.asarray([], dtype=str), images=np.zeros((0, ALIGNED_SIZE, ALIGNED_SIZE), np.uint8),
            labels=labels, split=split, classes=classes,
        )  # fmt: skip
    if source == "aligned":
        images = _load_many([aligned_dir / layout.aligned_name(name) for name in names])
    else:
        images = _load_many([original_dir / name for name in names])

    matrices = None
    if landmarks_raw is not None:
        if source == "aligned":
            # The original's size is only needed to validate; the release's aligned image came
            # from the same landmarks, so map them with our template's transform.
            try:
                matrices = [similarity_matrix(points) for points in landmarks_raw]
            except LandmarkError as error:
                raise DatasetError(f"{manual_dir}: {error}") from error
        else:
            matrices = []
            for i, points in enumerate(landmarks_raw):
                try:
                    matrix = similarity_matrix(points, image_shape=images[i].shape)
                except LandmarkError as error:
                    raise DatasetError(f"{manual_dir / layout.manual_name(names[i])}: {error}") from error
                images[i] = align_face(images[i], points)
                matrices.append(matrix)
    faces_array = np.stack(
        [
            img if img.shape == (ALIGNED_SIZE, ALIGNED_SIZE) else cv2.resize(img, (ALIGNED_SIZE, ALIGNED_SIZE))
            for img in images
        ]
    )

    landmarks = auto_landmarks = None
    if matrices is not None and landmarks_raw is not None:
        landmarks = np.stack([map_points(p, m) for p, m in zip(landmarks_raw, matrices, strict=True)])
        auto_dir = folder / layout.AUTO_DIR
        if auto_dir.is_dir():
            auto_paths = _annotation_paths(auto_dir, names, layout.auto_name, "automatic landmark")
            auto_landmarks = np.stack(
                [
                    map_points(np.asarray(_parse_file(p, layout.parse_auto)), m)
                    for p, m in zip(auto_paths, matrices, strict=True)
                ]
            )

    boxes = None
    box_dir = folder / layout.BOX_DIR
    if box_dir.is_dir():
        box_paths = _annotation_paths(box_dir, names, layout.box_name, "bounding-box")
        boxes = np.asarray([_parse_file(p, layout.parse_box) for p in box_paths], dtype=np.float32)

    return FaceSet(
        names=np.asarray(names),
        images=faces_array,
        labels=labels,
        split=split,
        classes=classes,
        landmarks=landmarks,
        distributions=distributions,
        auto_landmarks=auto_landmarks,
        attributes=attributes,
        boxes=boxes,
    )


# ---------------------------------------------------------------------------- manifest CSV


def _class_tuple_for_names(names: set[str], subset: str, where: str) -> tuple[str, ...]:
    """The class list for a set of class names: basic, basic + contempt (CK+, FERPlus), compound,
    or (if none is known) custom."""
    if names <= set(BASIC_EMOTIONS):
        return BASIC_EMOTIONS
    if names <= set(BASIC_WITH_CONTEMPT):
        return BASIC_WITH_CONTEMPT
    if names <= set(COMPOUND_BENCHMARK):
        return COMPOUND_BENCHMARK
    known = set(BASIC_WITH_CONTEMPT) | set(COMPOUND_EMOTIONS)
    if names & known:
        unknown = sorted(names - known)
        raise DatasetError(f"{where}: unknown labels {unknown}; expected names from {list(subset_classes(subset))}")
    return tuple(sorted(names))


def read_manifest(path: Path, *, subset: str = "basic", splits: Sequence[str] = ALL_SPLITS) -> FaceSet:
    """A manifest CSV: ``path,label,split[,lx1,ly1,...,lx5,ly5][,p_<class>...]``; only the images
    of ``splits`` are read."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        rows = list(reader)
    for column in ("path", "label", "split"):
        if column not in header:
            raise DatasetError(f"{path}: missing column {column!r} (header: {header})")
    landmark_columns = [c for c in header if re.fullmatch(r"l[xy][1-5]", c)]
    if landmark_columns and len(landmark_columns) != 10:
        raise DatasetError(f"{path}: mismatched counts: {len(landmark_columns)} landmark columns, expected 10")
    prob_columns = [c for c in header if c.startswith("p_")]
    if not rows:
        raise DatasetError(f"{path} lists no images")

    raw_labels = [row["label"].strip() for row in rows]
    if prob_columns:
        classes = tuple(c[2:] for c in prob_columns)
    elif all(label.lstrip("-").isdigit() for label in raw_labels):
        classes = subset_classes(subset)
    else:
        classes = _class_tuple_for_names({label.lower() for label in raw_labels}, subset, str(path))
    lookup = {name.lower(): i for i, name in enumerate(classes)}

    labels, split_list, landmark_list, dists, image_paths, names = [], [], [], [], [], []
    for line_no, (row, raw) in enumerate(zip(rows, raw_labels, strict=True), start=2):
        if raw.lstrip("-").isdigit():
            label = int(raw)
            if not 0 <= label < len(classes):
                raise DatasetError(f"{path} line {line_no}: unknown label {raw}, expected 0..{len(classes) - 1}")
        elif raw.lower() in lookup:
            label = lookup[raw.lower()]
        else:
            raise DatasetError(f"{path} line {line_no}: unknown label {raw!r}, expected one of {list(classes)}")
        split = row["split"].strip()
        if split not in ALL_SPLITS:
            raise DatasetError(f"{path} line {line_no}: split {split!r} is not train, val or test")
        if split not in splits:
            continue
        labels.append(label)
        split_list.append(split)
        names.append(row["path"])
        image_paths.append(path.parent / row["path"])
        if landmark_columns:
            try:
                landmark_list.append([[float(row[f"lx{k}"]), float(row[f"ly{k}"])] for k in range(1, 6)])
            except ValueError as error:
                raise DatasetError(f"{path} line {line_no}: bad landmark value") from error
        if prob_columns:
            try:
                dists.append([float(row[c]) for c in prob_columns])
            except ValueError as error:
                raise DatasetError(f"{path} line {line_no}: bad distribution value") from error

    images = _load_many(image_paths)
    aligned_images, aligned_landmarks = [], []
    for i, image in enumerate(images):
        points = np.asarray(landmark_list[i], dtype=np.float64) if landmark_columns else None
        face, mapped = _to_aligned(image, points, image_paths[i])
        aligned_images.append(face)
        aligned_landmarks.append(mapped)
    n = len(names)
    return FaceSet(
        names=np.asarray(names, dtype=str),
        images=np.stack(aligned_images) if n else np.zeros((0, ALIGNED_SIZE, ALIGNED_SIZE), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        split=np.asarray(split_list, dtype=str),
        classes=classes,
        landmarks=np.asarray([p for p in aligned_landmarks if p is not None], np.float32).reshape(n, 5, 2)
        if landmark_columns
        else None,
        distributions=np.asarray(dists, dtype=np.float32).reshape(n, len(classes)) if prob_columns else None,
    )


# ---------------------------------------------------------------------------- class folders


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_class_folders(
    root: Path, *, subset: str = "basic", seed: int = 0, splits: Sequence[str] = ALL_SPLITS
) -> FaceSet:
    """``root/<class>/*`` or ``root/{train,test}/<class>/*``; faces are 100x100 aligned images or
    face crops (resized). Folder names may use common spellings (``happy``, ``angry``...);
    ``contempt`` (CK+) is an eighth class. Only the images of ``splits`` are read."""
    if (root / "train").is_dir() and (root / "test").is_dir():
        layout = [(split, root / split) for split in SPLITS]
    else:
        layout = [("", root)]
    entries: list[tuple[str, str, Path]] = []  # (split or "", class name, image path)
    for split_name, base in layout:
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            name = CLASS_ALIASES.get(class_dir.name.lower(), class_dir.name.lower())
            files = _images_in(class_dir)
            if not files:
                raise DatasetError(f"class folder {class_dir} holds no images")
            entries.extend((split_name, name, file) for file in files)
    if not entries:
        raise DatasetError(f"{root} holds no class folders with images")
    classes = _class_tuple_for_names({name for _, name, _ in entries}, subset, str(root))
    lookup = {name: i for i, name in enumerate(classes)}
    labels = np.asarray([lookup[name] for _, name, _ in entries], dtype=np.int64)
    if layout[0][0]:
        split = np.asarray([s for s, _, _ in entries])
    elif all(p.name.startswith(("train_", "test_")) for _, _, p in entries):
        split = np.asarray([split_of(p.name) for _, _, p in entries])
    else:
        split = np.where(stratified_split(labels, np.random.default_rng(seed)), "test", "train")
    keep = np.isin(split, list(splits))
    entries = [entry for entry, kept in zip(entries, keep, strict=True) if kept]
    labels, split = labels[keep], split[keep]
    if not entries:
        return FaceSet(
            names=np.asarray([], dtype=str), images=np.zeros((0, ALIGNED_SIZE, ALIGNED_SIZE), np.uint8),
            labels=labels, split=split, classes=classes,
        )  # fmt: skip
    loaded = _load_many([path for _, _, path in entries])
    images = [_to_aligned(img, None, path)[0] for img, (_, _, path) in zip(loaded, entries, strict=True)]
    names = [str(p.relative_to(root)) for _, _, p in entries]
    return FaceSet(
        names=np.asarray(names),
        images=np.stack(images),
        labels=labels,
        split=split,
        classes=classes,
    )

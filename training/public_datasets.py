"""Readers for public expression datasets in the formats they are distributed in: FER-2013 (with
FERPlus's crowd votes), CK+ and JAFFE. No data ship with RAF; point ``load_dataset`` at a copy.

Every reader returns a :class:`training.datasets.FaceSet` of 100x100 grey faces whose classes
are the paper's seven (:data:`reliability.classes.BASIC_EMOTIONS`, in that order), plus
``contempt`` as an eighth when the source labels it and ``contempt=True``.

- **FER-2013** (``fer2013.csv``: ``emotion,pixels,Usage``; 48x48 grey faces as 2,304 integers;
  labels 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral). Usage
  ``Training`` -> train, ``PublicTest`` -> val, ``PrivateTest`` -> test (FERPlus's protocol).
  Faces are resized to 100x100 (bicubic); they are already roughly aligned crops.
- **FERPlus** (``fer2013new.csv`` beside ``fer2013.csv``: ``Usage,Image name,neutral,happiness,
  surprise,sadness,anger,disgust,fear,contempt,unknown,NF``, one row per FER-2013 row, 10
  taggers' votes). FERPlus's rules: a row without an image name is not used; a class with a
  single vote is an outlier and loses it; an image whose top vote (FERPlus's argmax, first
  column on ties) is ``unknown`` or ``NF`` (not a face), or that has no emotion vote left, is
  left out. The distribution is the remaining emotion votes normalised; the label its top
  class. ``contempt=False`` drops the contempt votes and the images where contempt is on top.
- **CK+** (``cohn-kanade-images/S005/001/S005_001_00000001.png``, ``Emotion/S005/001/
  S005_001_00000011_emotion.txt`` holding one number, 1 anger, 2 contempt, 3 disgust, 4 fear,
  5 happy, 6 sadness, 7 surprise; optional ``Landmarks/.../*_landmarks.txt`` with 68 points).
  The common protocol: the last ``CK_PEAK_FRAMES`` frames of each labelled sequence carry its
  emotion and its first frame is neutral. Faces are aligned from the 68 landmarks (eye centres,
  nose tip, mouth corners) or, without them, from the MTCNN detector's 5 points. Split by
  subject (no person in both splits), one subject in five to test, seeded.
- **JAFFE** (``KA.AN1.39.tiff``: poser, expression code AN DI FE HA NE SA SU + take, number).
  Faces are aligned from the MTCNN detector's 5 points; split by poser as CK+.

Bad input raises :class:`training.datasets.DatasetError` naming the file and the problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from reliability.classes import BASIC_EMOTIONS
from training.alignment import ALIGNED_SIZE, LandmarkError, align_face
from training.datasets import (
    ALL_SPLITS,
    BASIC_WITH_CONTEMPT,
    TEST_FRACTION,
    DatasetError,
    FaceSet,
    _load_many,
)

FER_FILE = "fer2013.csv"
FERPLUS_FILE = "fer2013new.csv"
FER_SIDE = 48
FER_CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")  # labels 0..6
FER_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
FERPLUS_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
FERPLUS_REJECT = ("unknown", "NF")
CK_CLASSES = {1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happiness", 6: "sadness", 7: "surprise"}
CK_PEAK_FRAMES = 3
JAFFE_CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "NE": "neutral",
               "SA": "sadness", "SU": "surprise"}  # fmt: skip
JAFFE_NAME = re.compile(r"^([A-Z]{2})\.(AN|DI|FE|HA|NE|SA|SU)\d*\.\d+\.tiff?$", re.IGNORECASE)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def detect(root: Path) -> str | None:
    """Which public format ``root`` holds: "ferplus", "fer2013", "ckplus", "jaffe" or None."""
    if root.is_file():
        if root.name == FERPLUS_FILE:
            return "ferplus"
        return "fer2013" if root.name == FER_FILE else None
    if not root.is_dir():
        return None
    if (root / FER_FILE).is_file():
        return "ferplus" if (root / FERPLUS_FILE).is_file() else "fer2013"
    if (root / "cohn-kanade-images").is_dir() and (root / "Emotion").is_dir():
        return "ckplus"
    if any(JAFFE_NAME.match(p.name) for p in root.iterdir() if p.is_file()):
        return "jaffe"
    return None


def read(kind: str, root: Path, *, splits: Sequence[str] = ALL_SPLITS, contempt: bool = True) -> FaceSet:
    """Read ``root`` as ``kind`` (see :func:`detect`); only the images of ``splits`` are decoded."""
    folder = root.parent if root.is_file() else root
    if kind == "ferplus":
        return read_ferplus(folder / FER_FILE, folder / FERPLUS_FILE, splits=splits, contempt=contempt)
    if kind == "fer2013":
        return read_fer2013(folder / FER_FILE, splits=splits)
    if kind == "ckplus":
        return read_ckplus(root, splits=splits, contempt=contempt)
    if kind == "jaffe":
        return read_jaffe(root, splits=splits)
    raise DatasetError(f"unknown public dataset kind {kind!r}")


# ---------------------------------------------------------------------------- FER-2013 / FERPlus


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise DatasetError(f"missing files: {path}")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = list(reader)
    missing = [c for c in columns if c not in header]
    if missing:
        raise DatasetError(f"{path}: missing columns {missing} (header: {header})")
    if not rows:
        raise DatasetError(f"{path} lists no images")
    return rows


def _fer_usage(path: Path, line_no: int, usage: str) -> str:
    split = FER_USAGE.get(usage.strip())
    if split is None:
        raise DatasetError(f"{path} line {line_no}: Usage {usage!r} is not Training, PublicTest or PrivateTest")
    return split


def _fer_face(path: Path, line_no: int, pixels: str) -> np.ndarray:
    values = pixels.split()
    if len(values) != FER_SIDE * FER_SIDE:
        raise DatasetError(f"{path} line {line_no}: {len(values)} pixel values, expected {FER_SIDE * FER_SIDE}")
    try:
        face = np.asarray([int(v) for v in values], dtype=np.int64).reshape(FER_SIDE, FER_SIDE)
    except ValueError as error:
        raise DatasetError(f"{path} line {line_no}: a pixel value is not an integer") from error
    if face.min() < 0 or face.max() > 255:
        raise DatasetError(f"{path} line {line_no}: pixel values must lie in 0..255")
    return cv2.resize(face.astype(np.uint8), (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_CUBIC)


def read_fer2013(path: Path, *, splits: Sequence[str] = ALL_SPLITS) -> FaceSet:
    """``fer2013.csv`` with its own single labels (no distribution)."""
    rows = _read_csv(path, ("emotion", "pixels", "Usage"))
    names, images, labels, split = [], [], [], []
    for line_no, row in enumerate(rows, start=2):
        usage = _fer_usage(path, line_no, row["Usage"])
        raw = row["emotion"].strip()
        if not raw.isdigit() or int(raw) >= len(FER_CLASSES):
            raise DatasetError(f"{path} line {line_no}: unknown label {raw!r}, expected 0..6")
        if usage not in splits:
            continue
        names.append(f"fer{line_no - 2:07d}")
        images.append(_fer_face(path, line_no, row["pixels"]))
        labels.append(BASIC_EMOTIONS.index(FER_CLASSES[int(raw)]))
        split.append(usage)
    return _faceset(names, images, labels, split, BASIC_EMOTIONS)


def ferplus_votes(votes: np.ndarray, *, contempt: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FERPlus's rules on raw votes ``(N, 10)`` in its column order (8 emotions, unknown, NF) ->
    ``kept`` (N,) bool, ``distributions`` (N, E) and ``top`` (N,) int, in FERPlus's emotion
    column order (E = 8, or 7 without contempt); rows of kept images sum to 1. See the module
    docstring for the rules."""
    votes = np.asarray(votes, dtype=np.float64).copy()
    if votes.ndim != 2 or votes.shape[1] != len(FERPLUS_COLUMNS) + len(FERPLUS_REJECT):
        raise DatasetError(f"FERPlus votes must be (N, 10), got {votes.shape}")
    votes[votes <= 1.0] = 0.0  # a single vote is an outlier (FERPlus)
    top = votes.argmax(axis=1)  # first column on ties, as FERPlus's argmax
    emotion = votes[:, : len(FERPLUS_COLUMNS)]
    kept = top < len(FERPLUS_COLUMNS)  # unknown or not-a-face on top: left out
    if not contempt:
        column = FERPLUS_COLUMNS.index("contempt")
        kept &= top != column  # a contempt face is not relabelled as something else
        emotion = np.delete(emotion, column, axis=1)
    kept &= emotion.sum(axis=1) > 0
    totals = np.where(kept, emotion.sum(axis=1), 1.0)
    return kept, emotion / totals[:, None], emotion.argmax(axis=1)


def read_ferplus(
    fer_path: Path, votes_path: Path, *, splits: Sequence[str] = ALL_SPLITS, contempt: bool = True
) -> FaceSet:
    """FER-2013's pixels with FERPlus's votes: distributions, labels as their top class."""
    fer_rows = _read_csv(fer_path, ("pixels", "Usage"))
    vote_rows = _read_csv(votes_path, ("Usage", "Image name", *FERPLUS_COLUMNS, *FERPLUS_REJECT))
    if len(fer_rows) != len(vote_rows):
        raise DatasetError(
            f"mismatched counts: {fer_path} has {len(fer_rows)} rows, {votes_path} {len(vote_rows)} "
            "(FERPlus has one row per FER-2013 row)"
        )
    columns = (*FERPLUS_COLUMNS, *FERPLUS_REJECT)
    raw = np.zeros((len(vote_rows), len(columns)), dtype=np.float64)
    named = np.zeros(len(vote_rows), dtype=bool)
    usage: list[str] = []
    for i, row in enumerate(vote_rows):
        line_no = i + 2
        usage.append(_fer_usage(votes_path, line_no, row["Usage"]))
        if row["Usage"].strip() != fer_rows[i]["Usage"].strip():
            raise DatasetError(f"{votes_path} line {line_no}: Usage differs from {fer_path}'s; the files do not match")
        named[i] = bool((row["Image name"] or "").strip())
        try:
            raw[i] = [float(row[c]) for c in columns]
        except (TypeError, ValueError) as error:
            raise DatasetError(f"{votes_path} line {line_no}: a vote count is not a number") from error
        if (raw[i] < 0).any() or not np.isfinite(raw[i]).all():
            raise DatasetError(f"{votes_path} line {line_no}: vote counts must be finite and non-negative")
    kept, distributions, top = ferplus_votes(raw, contempt=contempt)
    kept &= named  # FERPlus left the rows without an image name out
    ferplus_order = FERPLUS_COLUMNS if contempt else tuple(c for c in FERPLUS_COLUMNS if c != "contempt")
    classes = BASIC_WITH_CONTEMPT if contempt else BASIC_EMOTIONS
    order = [ferplus_order.index(name) for name in classes]  # FERPlus columns -> our class order
    names, images, labels, split, dists = [], [], [], [], []
    for i in np.flatnonzero(kept).tolist():
        if usage[i] not in splits:
            continue
        names.append(vote_rows[i]["Image name"].strip())
        images.append(_fer_face(fer_path, i + 2, fer_rows[i]["pixels"]))
        labels.append(classes.index(ferplus_order[top[i]]))
        split.append(usage[i])
        dists.append(distributions[i, order])
    return _faceset(names, images, labels, split, classes, dists)


# ---------------------------------------------------------------------------- CK+ and JAFFE


def detect_landmarks(image: np.ndarray, where: Path) -> np.ndarray:
    """The main face's 5 landmarks ``(5, 2)`` in RAF-DB order, from the bundled MTCNN detector."""
    from training.face import detect_faces

    faces = detect_faces(image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2))
    if not faces:
        raise DatasetError(f"{where}: no face found to align")
    return faces[0].landmarks


def _align(image: np.ndarray, landmarks: np.ndarray | None, where: Path) -> np.ndarray:
    points = detect_landmarks(image, where) if landmarks is None else landmarks
    try:
        return align_face(image, points)
    except LandmarkError as error:
        raise DatasetError(f"{where}: {error}") from error


def _subject_split(subjects: Sequence[str], seed: int) -> dict[str, str]:
    """Subject -> "train"/"test": one subject in five to test (at least one when there are two or
    more), seeded, so no person is in both splits."""
    unique = sorted(set(subjects))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_test = min(len(unique) - 1, max(1, int(round(len(unique) * TEST_FRACTION)))) if len(unique) >= 2 else 0
    test = {unique[i] for i in order[:n_test]}
    return {subject: "test" if subject in test else "train" for subject in unique}


def ck_points(path: Path) -> np.ndarray:
    """A CK+ ``*_landmarks.txt`` (68 lines ``x y``) -> RAF-DB's 5 points ``(5, 2)``: eye centres
    (points 37-42 and 43-48, 1-based), nose tip (31), mouth corners (49, 55)."""
    try:
        points = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise DatasetError(f"{path}: not numbers") from error
    if points.shape != (68, 2):
        raise DatasetError(f"mismatched counts: {path} has {points.shape[0]} points, expected 68 'x y' lines")
    return np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0), points[30], points[48], points[54]])


def _ck_label(path: Path) -> int:
    try:
        value = float(path.read_text().split()[0])
    except (IndexError, ValueError) as error:
        raise DatasetError(f"{path}: expected one number 1..7") from error
    if value != int(value) or int(value) not in CK_CLASSES:
        raise DatasetError(f"{path}: unknown label {value:g}, expected 1..7 (anger .. surprise)")
    return int(value)


def read_ckplus(
    root: Path, *, splits: Sequence[str] = ALL_SPLITS, contempt: bool = True, seed: int = 0,
    peak_frames: int = CK_PEAK_FRAMES,
) -> FaceSet:  # fmt: skip
    """A CK+ copy (see the module docstring)."""
    images_dir, emotion_dir, landmark_dir = root / "cohn-kanade-images", root / "Emotion", root / "Landmarks"
    classes = BASIC_WITH_CONTEMPT if contempt else BASIC_EMOTIONS
    entries: list[tuple[str, Path, str]] = []  # (subject, frame path, class name)
    label_files = sorted(emotion_dir.glob("*/*/*_emotion.txt"))
    if not label_files:
        raise DatasetError(f"missing files: no */*/*_emotion.txt under {emotion_dir}")
    for label_file in label_files:
        name = CK_CLASSES[_ck_label(label_file)]
        subject, sequence = label_file.parent.parent.name, label_file.parent.name
        frames = sorted(p for p in (images_dir / subject / sequence).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not frames:
            raise DatasetError(f"missing files: no frames in {images_dir / subject / sequence} for {label_file.name}")
        if name == "contempt" and not contempt:
            entries.append((subject, frames[0], "neutral"))
            continue
        entries.append((subject, frames[0], "neutral"))
        entries.extend((subject, frame, name) for frame in frames[-peak_frames:] if frame != frames[0])
    split_of = _subject_split([subject for subject, _, _ in entries], seed)
    entries = [e for e in entries if split_of[e[0]] in splits]
    loaded = _load_many([frame for _, frame, _ in entries]) if entries else []
    images = []
    for (_, frame, _), image in zip(entries, loaded, strict=True):
        relative = frame.relative_to(images_dir)
        landmark_file = landmark_dir / relative.parent / f"{frame.stem}_landmarks.txt"
        points = ck_points(landmark_file) if landmark_file.is_file() else None
        images.append(_align(image, points, frame))
    names = [str(frame.relative_to(images_dir)) for _, frame, _ in entries]
    labels = [classes.index(name) for _, _, name in entries]
    return _faceset(names, images, labels, [split_of[s] for s, _, _ in entries], classes)


def read_jaffe(root: Path, *, splits: Sequence[str] = ALL_SPLITS, seed: int = 0) -> FaceSet:
    """A JAFFE folder (see the module docstring); files not named like JAFFE's are refused."""
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in (".tif", ".tiff"))
    odd = [p.name for p in files if not JAFFE_NAME.match(p.name)]
    if odd:
        raise DatasetError(f"{root}: {len(odd)} files not named like JAFFE's (e.g. KA.AN1.39.tiff): {odd[:3]}")
    parsed = [(m.group(1).upper(), m.group(2).upper(), p) for p in files if (m := JAFFE_NAME.match(p.name))]
    split_of = _subject_split([poser for poser, _, _ in parsed], seed)
    parsed = [entry for entry in parsed if split_of[entry[0]] in splits]
    loaded = _load_many([p for _, _, p in parsed]) if parsed else []
    images = [_align(image, None, path) for (_, _, path), image in zip(parsed, loaded, strict=True)]
    labels = [BASIC_EMOTIONS.index(JAFFE_CODES[code]) for _, code, _ in parsed]
    return _faceset([p.name for _, _, p in parsed], images, labels, [split_of[s] for s, _, _ in parsed],
                    BASIC_EMOTIONS)  # fmt: skip


def _faceset(
    names: list[str], images: list[np.ndarray], labels: list[int], split: list[str], classes: tuple[str, ...],
    distributions: list[np.ndarray] | None = None,
) -> FaceSet:  # fmt: skip
    n = len(names)
    return FaceSet(
        names=np.asarray(names, dtype=str),
        images=np.stack(images) if n else np.zeros((0, ALIGNED_SIZE, ALIGNED_SIZE), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        split=np.asarray(split, dtype=str),
        classes=classes,
        distributions=None if distributions is None else np.asarray(distributions, np.float32).reshape(n, len(classes)),
    )

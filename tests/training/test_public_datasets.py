"""Readers of FER-2013 + FERPlus, CK+ and JAFFE, on tiny files written in each format."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS
from training import public_datasets
from training.datasets import DatasetError, load_dataset
from training.public_datasets import ferplus_votes

WITH_CONTEMPT = (*BASIC_EMOTIONS, "contempt")
# 5 landmarks of a frontal face in a 256x256 picture (eyes, nose, mouth corners).
FIVE = np.array([[90.0, 110.0], [166.0, 110.0], [128.0, 150.0], [100.0, 190.0], [156.0, 190.0]])


def _pixels(value: int) -> str:
    return " ".join([str(value)] * 48 * 48)


def _write_fer(folder: Path, rows: list[tuple[int, str]]) -> Path:
    """fer2013.csv with (label, Usage) rows; pixel values encode the row index."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "fer2013.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for i, (label, usage) in enumerate(rows):
            writer.writerow([label, _pixels(10 * i % 256), usage])
    return folder / "fer2013.csv"


def _write_ferplus(folder: Path, rows: list[tuple[str, str, list[int]]]) -> Path:
    """fer2013new.csv with (Usage, image name, 10 vote counts) rows."""
    with (folder / "fer2013new.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust",
                         "fear", "contempt", "unknown", "NF"])  # fmt: skip
        for usage, name, votes in rows:
            writer.writerow([usage, name, *votes])
    return folder / "fer2013new.csv"


FERPLUS_ROWS = [
    # usage, name, neutral happiness surprise sadness anger disgust fear contempt unknown NF
    ("Training", "fer0000000.png", [0, 8, 2, 0, 0, 0, 0, 0, 0, 0]),  # happiness 0.8, surprise 0.2
    ("Training", "fer0000001.png", [6, 0, 0, 1, 0, 0, 0, 3, 0, 0]),  # the sadness vote is an outlier
    ("Training", "fer0000002.png", [2, 0, 0, 0, 0, 0, 0, 0, 8, 0]),  # unknown on top: left out
    ("PublicTest", "fer0000003.png", [0, 0, 0, 0, 2, 0, 0, 0, 0, 8]),  # not a face: left out
    ("PublicTest", "fer0000004.png", [0, 0, 5, 0, 0, 0, 5, 0, 0, 0]),  # tie: FERPlus's first column
    ("PrivateTest", "", [10, 0, 0, 0, 0, 0, 0, 0, 0, 0]),  # no image name: FERPlus dropped it
    ("PrivateTest", "fer0000006.png", [0, 0, 0, 0, 0, 0, 0, 9, 1, 0]),  # contempt
    ("PrivateTest", "fer0000007.png", [0, 0, 0, 4, 6, 0, 0, 0, 0, 0]),  # anger 0.6, sadness 0.4
]
FER_ROWS = [(3, "Training"), (6, "Training"), (6, "Training"), (0, "PublicTest"), (5, "PublicTest"),
            (6, "PrivateTest"), (6, "PrivateTest"), (0, "PrivateTest")]  # fmt: skip


def test_it_reads_fer2013_with_its_own_labels_and_splits(tmp_path: Path) -> None:
    path = _write_fer(tmp_path, FER_ROWS)
    faces = load_dataset(path)
    assert faces.classes == BASIC_EMOTIONS and faces.images.shape == (8, 100, 100)
    assert [faces.classes[i] for i in faces.labels[:4]] == ["happiness", "neutral", "neutral", "anger"]
    assert faces.split.tolist() == ["train"] * 3 + ["val"] * 2 + ["test"] * 3
    assert faces.distributions is None and faces.images[1].mean() == pytest.approx(10, abs=1)


def test_it_applies_ferplus_rules_to_the_votes(tmp_path: Path) -> None:
    _write_fer(tmp_path, FER_ROWS)
    _write_ferplus(tmp_path, FERPLUS_ROWS)
    faces = load_dataset(tmp_path)
    assert faces.classes == WITH_CONTEMPT
    assert faces.names.tolist() == ["fer0000000.png", "fer0000001.png", "fer0000004.png", "fer0000006.png",
                                    "fer0000007.png"]  # fmt: skip
    assert [faces.classes[i] for i in faces.labels] == ["happiness", "neutral", "surprise", "contempt", "anger"]
    assert faces.split.tolist() == ["train", "train", "val", "test", "test"]
    d = dict(zip(faces.classes, faces.distributions[0].tolist(), strict=True))
    assert d["happiness"] == pytest.approx(0.8) and d["surprise"] == pytest.approx(0.2)
    d = dict(zip(faces.classes, faces.distributions[1].tolist(), strict=True))
    assert d["neutral"] == pytest.approx(2 / 3) and d["contempt"] == pytest.approx(1 / 3) and d["sadness"] == 0
    assert np.allclose(faces.distributions.sum(axis=1), 1.0)
    # FERPlus's pixels come from the matching FER-2013 row.
    assert faces.images[2].mean() == pytest.approx(40, abs=1)


def test_it_leaves_contempt_out_when_asked(tmp_path: Path) -> None:
    _write_fer(tmp_path, FER_ROWS)
    _write_ferplus(tmp_path, FERPLUS_ROWS)
    faces = load_dataset(tmp_path / "fer2013new.csv", contempt=False)
    assert faces.classes == BASIC_EMOTIONS and faces.distributions.shape == (4, 7)
    assert "fer0000006.png" not in faces.names.tolist()
    assert faces.distributions[1].tolist() == pytest.approx([0, 0, 0, 0, 0, 0, 1])  # neutral only


def test_it_reads_only_the_asked_splits(tmp_path: Path) -> None:
    _write_fer(tmp_path, FER_ROWS)
    _write_ferplus(tmp_path, FERPLUS_ROWS)
    faces = load_dataset(tmp_path, splits=("train", "val"), require_splits=("train",))
    assert set(faces.split) == {"train", "val"}


def test_it_ranks_ferplus_ties_by_its_column_order() -> None:
    votes = np.array([[0, 0, 5, 0, 0, 0, 5, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]])
    kept, dist, top = ferplus_votes(votes)
    assert kept.tolist() == [True, False]  # the second has only single (outlier) votes
    assert top[0] == 2 and dist[0].tolist() == pytest.approx([0, 0, 0.5, 0, 0, 0, 0.5, 0])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _write_fer(d, FER_ROWS[:-1]), "mismatched counts: .* has 7 rows"),
        (lambda d: _write_ferplus(d, [("Training", "a.png", [1] * 9)] * 8), "a vote count is not a number"),
        (lambda d: _write_ferplus(d, [("Train", "a.png", [10] + [0] * 9)] * 8), "Usage 'Train' is not Training"),
        (lambda d: _write_ferplus(d, [(u, "a.png", [10] + [0] * 9) for u in ["PrivateTest"] * 8]), "Usage differs"),
    ],
)
def test_it_refuses_broken_ferplus_files(tmp_path: Path, damage, message: str) -> None:
    _write_fer(tmp_path, FER_ROWS)
    _write_ferplus(tmp_path, FERPLUS_ROWS)
    damage(tmp_path)
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


def test_it_refuses_a_fer_row_of_the_wrong_size(tmp_path: Path) -> None:
    path = _write_fer(tmp_path, FER_ROWS)
    path.write_text(path.read_text().replace(_pixels(0), "1 2 3"))
    with pytest.raises(DatasetError, match="line 2: 3 pixel values, expected 2304"):
        load_dataset(path)


# ---------------------------------------------------------------------------- CK+


def _face_picture(value: int) -> np.ndarray:
    image = np.full((256, 256), value, np.uint8)
    cv2.circle(image, (128, 150), 60, 200, -1)
    return image


def _ck_landmarks() -> str:
    points = np.tile([128.0, 150.0], (68, 1))
    points[36:42] = FIVE[0]
    points[42:48] = FIVE[1]
    points[30], points[48], points[54] = FIVE[2], FIVE[3], FIVE[4]
    return "".join(f"   {x:.7e}   {y:.7e}\n" for x, y in points)


def _write_ck(root: Path, sequences: dict[str, tuple[int, int]], *, landmarks: bool = True) -> Path:
    """``{"S005/001": (label, frames)}`` in CK+'s folders."""
    for key, (label, n_frames) in sequences.items():
        subject, sequence = key.split("/")
        frames = root / "cohn-kanade-images" / subject / sequence
        frames.mkdir(parents=True)
        for f in range(1, n_frames + 1):
            stem = f"{subject}_{sequence}_{f:08d}"
            cv2.imwrite(str(frames / f"{stem}.png"), _face_picture(f))
            if landmarks:
                marks = root / "Landmarks" / subject / sequence
                marks.mkdir(parents=True, exist_ok=True)
                (marks / f"{stem}_landmarks.txt").write_text(_ck_landmarks())
        emotion = root / "Emotion" / subject / sequence
        emotion.mkdir(parents=True)
        (emotion / f"{subject}_{sequence}_{n_frames:08d}_emotion.txt").write_text(f"   {label:.7e}\n")
    return root


SEQUENCES = {"S005/001": (3, 5), "S010/002": (2, 4), "S011/001": (5, 4), "S014/003": (7, 6), "S022/001": (1, 4)}


def test_it_reads_ck_plus_with_contempt_split_by_subject(tmp_path: Path) -> None:
    faces = load_dataset(_write_ck(tmp_path, SEQUENCES))
    assert faces.classes == WITH_CONTEMPT and faces.images.shape[1:] == (100, 100)
    names = dict(zip(faces.names.tolist(), (faces.classes[i] for i in faces.labels), strict=True))
    # The last 3 frames carry the emotion, the first frame is neutral.
    assert names["S010/002/S010_002_00000001.png"] == "neutral"
    assert [names[f"S010/002/S010_002_{f:08d}.png"] for f in (2, 3, 4)] == ["contempt"] * 3
    assert names["S014/003/S014_003_00000006.png"] == "surprise" and "S014/003/S014_003_00000002.png" not in names
    subjects = {name.split("/")[0]: split for name, split in zip(faces.names, faces.split, strict=True)}
    assert len(faces) == 5 * 4 and sorted(subjects.values()).count("test") == 1  # 1 subject in 5 to test
    for name, split in zip(faces.names, faces.split, strict=True):
        assert subjects[name.split("/")[0]] == split


def test_it_aligns_ck_plus_with_the_detector_without_landmark_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(public_datasets, "detect_landmarks", lambda image, where: calls.append(where.name) or FIVE)
    faces = load_dataset(_write_ck(tmp_path, {"S005/001": (3, 3), "S010/001": (4, 3)}, landmarks=False),
                         contempt=False)  # fmt: skip
    assert faces.classes == BASIC_EMOTIONS and len(calls) == len(faces) == 6


@pytest.mark.parametrize(("text", "message"), [("8\n", "unknown label 8"), ("x\n", "expected one number")])
def test_it_refuses_a_bad_ck_plus_label(tmp_path: Path, text: str, message: str) -> None:
    root = _write_ck(tmp_path, {"S005/001": (3, 3), "S010/001": (4, 3)})
    next((root / "Emotion").rglob("*_emotion.txt")).write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_dataset(root)


def test_it_refuses_a_ck_plus_landmark_file_without_68_points(tmp_path: Path) -> None:
    root = _write_ck(tmp_path, {"S005/001": (3, 3), "S010/001": (4, 3)})
    next((root / "Landmarks").rglob("*_landmarks.txt")).write_text("1 2\n3 4\n")
    with pytest.raises(DatasetError, match="has 2 points, expected 68"):
        load_dataset(root)


# ---------------------------------------------------------------------------- JAFFE


def test_it_reads_jaffe_split_by_poser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_datasets, "detect_landmarks", lambda image, where: FIVE)
    posers = ("KA", "KL", "KM", "KR", "MK")
    for i, poser in enumerate(posers):
        for code in ("AN", "DI", "FE", "HA", "NE", "SA", "SU"):
            cv2.imwrite(str(tmp_path / f"{poser}.{code}{i + 1}.{40 + i}.tiff"), _face_picture(i))
    faces = load_dataset(tmp_path)
    assert faces.classes == BASIC_EMOTIONS and len(faces) == 35
    assert faces.class_counts().tolist() == [5] * 7
    test_posers = {name.split(".")[0] for name, s in zip(faces.names, faces.split, strict=True) if s == "test"}
    train_posers = {name.split(".")[0] for name, s in zip(faces.names, faces.split, strict=True) if s == "train"}
    assert len(test_posers) == 1 and not test_posers & train_posers
    assert faces.labels[faces.names.tolist().index("KA.SU1.40.tiff")] == BASIC_EMOTIONS.index("surprise")


def test_it_refuses_a_jaffe_folder_with_foreign_files(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "KA.AN1.39.tiff"), _face_picture(0))
    cv2.imwrite(str(tmp_path / "holiday.tiff"), _face_picture(0))
    with pytest.raises(DatasetError, match="1 files not named like JAFFE's"):
        load_dataset(tmp_path)


def test_it_names_an_image_without_a_face(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("training.face.detect_faces", lambda image: [])
    for poser in ("KA", "KL"):
        cv2.imwrite(str(tmp_path / f"{poser}.AN1.39.tiff"), _face_picture(0))
    with pytest.raises(DatasetError, match=r"KA.AN1.39.tiff: no face found to align"):
        load_dataset(tmp_path)

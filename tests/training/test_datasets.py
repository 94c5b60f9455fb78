from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from reliability.classes import BASIC_EMOTIONS, COMPOUND_BENCHMARK
from training.alignment import TEMPLATE
from training.datasets import DatasetError, FaceSet, load_dataset


@pytest.fixture()
def basic_copy(tiny_root: Path, tmp_path: Path) -> Path:
    """A writable copy of the tiny synthetic basic subset (28 images)."""
    return Path(shutil.copytree(tiny_root / "basic", tmp_path / "basic"))


def test_it_reads_the_release_layout_with_all_annotations(synthetic_root: Path) -> None:
    faces = load_dataset(synthetic_root)
    n = len(faces)
    assert n == 168 and faces.classes == BASIC_EMOTIONS
    assert faces.images.shape == (n, 100, 100) and faces.images.dtype == np.uint8
    assert faces.labels.dtype == np.int64 and set(np.unique(faces.labels)) == set(range(7))
    assert faces.landmarks is not None and faces.landmarks.shape == (n, 5, 2)
    assert faces.auto_landmarks is not None and faces.auto_landmarks.shape == (n, 37, 2)
    assert faces.attributes is not None and faces.attributes.shape == (n, 3)
    assert faces.boxes is not None and faces.boxes.shape == (n, 4)
    assert faces.distributions is not None and faces.distributions.shape == (n, 7)
    np.testing.assert_allclose(faces.distributions.sum(axis=1), 1.0, atol=1e-3)
    # Landmarks come back in aligned coordinates: the eye centres near the template's.
    np.testing.assert_allclose(faces.landmarks[:, :2].mean(axis=0), TEMPLATE[:2], atol=1.0)
    n_test = int((faces.split == "test").sum())
    assert 4.0 <= (n - n_test) / n_test <= 6.0
    assert all(name.startswith(split + "_") for name, split in zip(faces.names, faces.split, strict=True))
    assert len(faces.where("train")) == n - n_test


def test_it_reads_the_compound_subset_from_the_root_or_its_own_folder(synthetic_root: Path) -> None:
    from_root = load_dataset(synthetic_root, subset="compound")
    from_folder = load_dataset(synthetic_root / "compound")
    assert from_root.classes == from_folder.classes == COMPOUND_BENCHMARK
    assert set(np.unique(from_root.labels)) == set(range(11))
    np.testing.assert_array_equal(from_root.images, from_folder.images)


def test_it_aligns_the_originals_when_no_aligned_images_exist(tiny_root: Path, basic_copy: Path) -> None:
    shutil.rmtree(basic_copy / "Image" / "aligned")
    aligned = load_dataset(tiny_root)
    made = load_dataset(basic_copy)
    np.testing.assert_array_equal(made.names, aligned.names)
    # Same transform, only the JPEG round trips differ.
    difference = np.abs(made.images.astype(np.int16) - aligned.images.astype(np.int16)).mean()
    assert difference < 4.0
    np.testing.assert_allclose(made.landmarks, aligned.landmarks, atol=0.05)


def _write_manifest(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_it_reads_a_manifest_with_landmarks_and_distributions(synthetic_root: Path, tmp_path: Path) -> None:
    faces = load_dataset(synthetic_root)
    faces = faces.select(np.r_[0:10, len(faces) - 10 : len(faces)])  # both splits
    (tmp_path / "img").mkdir()
    header = ["path", "label", "split"] + [f"l{a}{k}" for k in range(1, 6) for a in "xy"]
    header += [f"p_{name}" for name in BASIC_EMOTIONS]
    rows = []
    for i in range(20):
        cv2.imwrite(str(tmp_path / "img" / f"{i}.png"), faces.images[i])
        rows.append(
            [f"img/{i}.png", BASIC_EMOTIONS[faces.labels[i]], faces.split[i]]
            + faces.landmarks[i].ravel().tolist()
            + faces.distributions[i].tolist()
        )
    loaded = load_dataset(_write_manifest(tmp_path / "m.csv", header, rows))
    np.testing.assert_array_equal(loaded.images, faces.images[:20])
    np.testing.assert_array_equal(loaded.labels, faces.labels[:20])
    np.testing.assert_allclose(loaded.landmarks, faces.landmarks[:20], atol=1e-4)
    np.testing.assert_allclose(loaded.distributions, faces.distributions[:20], atol=1e-6)
    assert loaded.classes == BASIC_EMOTIONS


def test_it_aligns_manifest_originals_from_their_landmarks(synthetic_root: Path, tmp_path: Path) -> None:
    base = synthetic_root / "basic"
    lines = (base / "EmoLabel" / "list_patition_label.txt").read_text().split()
    names, labels = lines[0::2][:12], lines[1::2][:12]
    rows = []
    for name, label in zip(names, labels, strict=True):
        manual = (base / "Annotation" / "manual" / name.replace(".jpg", "_manu_attri.txt")).read_text().split()
        # 0-based integer labels in a manifest.
        rows.append([f"Image/original/{name}", int(label) - 1, "train"] + [float(v) for v in manual[:10]])
    header = ["path", "label", "split"] + [f"l{a}{k}" for k in range(1, 6) for a in "xy"]
    # Absolute paths work too (a relative path is resolved against the CSV's folder).
    manifest = _write_manifest(tmp_path / "x.csv", header, [[str(base / r[0])] + r[1:] for r in rows])
    loaded = load_dataset(manifest, require_splits=("train",))
    reference = load_dataset(synthetic_root)
    assert np.abs(loaded.images.astype(int) - reference.images[:12]).mean() < 4.0
    np.testing.assert_allclose(loaded.landmarks, reference.landmarks[:12], atol=0.05)


def test_it_reads_class_folders_with_and_without_split_folders(synthetic_root: Path, tmp_path: Path) -> None:
    faces = load_dataset(synthetic_root)
    faces = faces.select(np.r_[0:50, len(faces) - 10 : len(faces)])  # both splits
    aliases = {"happiness": "happy", "sadness": "sad", "surprise": "Surprise"}
    for i in range(60):
        name = BASIC_EMOTIONS[faces.labels[i]]
        folder = tmp_path / "flat" / aliases.get(name, name)
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:03d}.png"), faces.images[i])
        split_folder = tmp_path / "split" / faces.split[i] / name
        split_folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(split_folder / f"{i:03d}.png"), cv2.resize(faces.images[i], (50, 50)))
    flat = load_dataset(tmp_path / "flat")
    assert flat.classes == BASIC_EMOTIONS and len(flat) == 60
    assert sorted(flat.labels.tolist()) == sorted(faces.labels[:60].tolist())
    assert set(np.unique(flat.split)) <= {"train", "test"}
    split = load_dataset(tmp_path / "split")
    assert split.images.shape == (60, 100, 100)  # 50x50 crops resized
    assert (split.split == "test").sum() == (faces.split[:60] == "test").sum()


# ----------------------------------------------------------------------------- errors


def test_it_rejects_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_it_rejects_a_missing_label_file(basic_copy: Path) -> None:
    (basic_copy / "EmoLabel" / "list_patition_label.txt").unlink()
    with pytest.raises(DatasetError, match="missing files: label file"):
        load_dataset(basic_copy)


def test_it_rejects_a_missing_image(basic_copy: Path) -> None:
    next((basic_copy / "Image" / "aligned").glob("test_*")).unlink()
    with pytest.raises(DatasetError, match="missing files: 1 of 28 images"):
        load_dataset(basic_copy)


def test_it_rejects_originals_without_landmarks(basic_copy: Path) -> None:
    shutil.rmtree(basic_copy / "Annotation" / "manual")
    with pytest.raises(DatasetError, match="landmarks are needed"):
        load_dataset(basic_copy, source="original")


def test_it_rejects_an_unknown_label(basic_copy: Path) -> None:
    label_file = basic_copy / "EmoLabel" / "list_patition_label.txt"
    label_file.write_text(label_file.read_text() + "test_9999.jpg 8\n")
    with pytest.raises(DatasetError, match=r"unknown label 8, outside 1..7"):
        load_dataset(basic_copy)


def test_it_rejects_an_empty_split(basic_copy: Path) -> None:
    label_file = basic_copy / "EmoLabel" / "list_patition_label.txt"
    lines = [line for line in label_file.read_text().splitlines() if line.startswith("train_")]
    label_file.write_text("\n".join(lines) + "\n")
    (basic_copy / "EmoLabel" / "distribution_basic.txt").unlink()
    with pytest.raises(DatasetError, match="test split .* is empty"):
        load_dataset(basic_copy)
    assert len(load_dataset(basic_copy, require_splits=("train",))) == len(lines)
    with pytest.raises(DatasetError, match="test split is empty"):
        load_dataset(basic_copy, require_splits=()).where("test")


def test_it_rejects_mismatched_distribution_and_landmark_counts(basic_copy: Path) -> None:
    dist = basic_copy / "EmoLabel" / "distribution_basic.txt"
    dist.write_text("\n".join(dist.read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(DatasetError, match="mismatched counts: .* 1 images of the label file without a distribution"):
        load_dataset(basic_copy)
    dist.unlink()
    manual = next((basic_copy / "Annotation" / "manual").glob("*.txt"))
    # The layout's one rule: 5 landmark lines and the 3 attribute lines, no fewer.
    manual.write_text("\n".join(manual.read_text().splitlines()[:5]) + "\n")
    with pytest.raises(DatasetError, match="expected 5 landmark lines and 3 attribute lines .* got 5 lines"):
        load_dataset(basic_copy)


def test_it_rejects_bad_manifests(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((100, 100), np.uint8))
    bad_label = _write_manifest(
        tmp_path / "a.csv", ["path", "label", "split"], [["a.png", "anger", "train"], ["a.png", "bored", "test"]]
    )
    with pytest.raises(DatasetError, match="unknown label"):
        load_dataset(bad_label)
    bad_split = _write_manifest(tmp_path / "b.csv", ["path", "label", "split"], [["a.png", "anger", "dev"]])
    with pytest.raises(DatasetError, match="not train, val or test"):
        load_dataset(bad_split)
    few_points = _write_manifest(
        tmp_path / "c.csv", ["path", "label", "split", "lx1", "ly1"], [["a.png", 0, "train", 1, 2]]
    )
    with pytest.raises(DatasetError, match="mismatched counts: 2 landmark columns"):
        load_dataset(few_points)
    missing = _write_manifest(tmp_path / "d.csv", ["path", "label", "split"], [["b.png", 0, "train"]])
    with pytest.raises(DatasetError, match="missing files"):
        load_dataset(missing, require_splits=())
    out_of_range = _write_manifest(tmp_path / "e.csv", ["path", "label", "split"], [["a.png", 7, "train"]])
    with pytest.raises(DatasetError, match="unknown label 7"):
        load_dataset(out_of_range)


def test_it_rejects_an_unknown_class_folder_among_known_ones(tmp_path: Path) -> None:
    for name in ("happy", "bored"):
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "x.png"), np.zeros((100, 100), np.uint8))
    with pytest.raises(DatasetError, match=r"unknown labels \['bored'\]"):
        load_dataset(tmp_path, require_splits=())


def test_it_reads_ck_plus_class_folders_with_contempt_as_an_eighth_class(tmp_path: Path) -> None:
    for name in ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"):
        for i in range(5):
            (tmp_path / name).mkdir(exist_ok=True)
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), np.full((100, 100), i, np.uint8))
    faces = load_dataset(tmp_path)
    assert faces.classes == (*BASIC_EMOTIONS, "contempt")
    assert faces.class_counts().tolist() == [5, 5, 5, 5, 5, 5, 0, 5]
    # 4:1 per class, the released benchmark's proportions.
    assert (faces.split == "test").sum() == 7 and (faces.split == "train").sum() == 28


def test_it_refuses_a_faceset_with_mismatched_counts() -> None:
    with pytest.raises(DatasetError, match="mismatched counts: 2 names but 1 labels"):
        FaceSet(
            names=np.array(["a", "b"]),
            images=np.zeros((2, 100, 100), np.uint8),
            labels=np.zeros(1, np.int64),
            split=np.array(["train", "test"]),
            classes=BASIC_EMOTIONS,
        )

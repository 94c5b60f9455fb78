from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.training.face.conftest import read_rgb
from training.face import detect_faces


def pupils(face_data: Path, folder: str) -> dict[str, np.ndarray]:
    with open(face_data / folder / "pupils.csv", newline="") as handle:
        return {
            row["image"]: np.array(
                [
                    [float(row["image_left_pupil_x"]), float(row["image_left_pupil_y"])],
                    [float(row["image_right_pupil_x"]), float(row["image_right_pupil_y"])],
                ]
            )
            for row in csv.DictReader(handle)
        }


@pytest.mark.parametrize("name", ["lisa1.jpg", "lisa3.jpg", "lisa4.jpg"])
def test_it_finds_the_face_and_its_eyes_in_real_photos(face_data: Path, name: str) -> None:
    truth = pupils(face_data, "lisa")[name]
    faces = detect_faces(read_rgb(face_data / "lisa" / name))
    assert len(faces) == 1
    face = faces[0]
    inter_ocular = np.linalg.norm(truth[1] - truth[0])
    assert np.linalg.norm(face.landmarks[:2] - truth, axis=1).max() < 0.1 * inter_ocular
    x1, y1, x2, y2 = face.box
    assert x1 < truth[:, 0].min() and truth[:, 0].max() < x2 and y1 < truth[:, 1].min() < y2
    assert 0.9 <= face.confidence <= 1.0 and face.landmarks.shape == (5, 2)


def test_it_finds_no_face_in_a_landscape(face_data: Path) -> None:
    assert detect_faces(read_rgb(face_data / "nonface" / "mountains-615428_640.jpg")) == []


def test_it_keeps_every_face_with_the_largest_first(face_data: Path) -> None:
    big = read_rgb(face_data / "london" / "neutral" / "001.jpg")
    small = read_rgb(face_data / "london" / "neutral" / "002.jpg")[::2, ::2]
    canvas = np.full((450, 700, 3), 128, np.uint8)
    canvas[:, :450] = big
    canvas[100 : 100 + small.shape[0], 460 : 460 + small.shape[1]] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].box[2] <= 450 and faces[1].box[0] >= 450
    assert faces[0].area > faces[1].area


def test_it_refuses_a_non_image() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        detect_faces(np.zeros((10, 10, 3), np.float32))

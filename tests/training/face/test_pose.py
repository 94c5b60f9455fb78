from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.training.face.conftest import read_rgb
from training.alignment import LandmarkError
from training.face import detect_faces, estimate_pose, roll_from_eyes
from training.face.pose import MEAN_FACE_3D, camera_matrix


def rotate_and_scale(image: np.ndarray, angle_deg: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the image about its centre by ``angle_deg`` (counter-clockwise as seen, OpenCV's
    convention) and scale it; returns the new image and the (2, 3) matrix."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, scale)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT), matrix


@pytest.mark.parametrize(("angle", "scale"), [(0, 1.0), (15, 0.8), (-25, 0.9), (35, 0.7), (-10, 1.2)])
def test_it_recovers_roll_of_rotated_real_photos(face_data: Path, angle: float, scale: float) -> None:
    image = read_rgb(face_data / "london" / "neutral" / "003.jpg")
    base = estimate_pose(detect_faces(image)[0].landmarks, image.shape).roll
    rotated, _ = rotate_and_scale(image, angle, scale)
    detections = detect_faces(rotated)
    assert detections, "face lost after rotation"
    roll = estimate_pose(detections[0].landmarks, rotated.shape).roll
    # OpenCV's positive angle turns the picture counter-clockwise, which lifts the right eye.
    assert abs((roll - base) - (-angle)) < 2.0


def test_it_measures_roll_from_the_eye_line() -> None:
    landmarks = np.array([[10.0, 10.0], [20.0, 20.0], [15.0, 25.0], [10.0, 35.0], [20.0, 35.0]])
    assert roll_from_eyes(landmarks) == pytest.approx(45.0)


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (20, 0, 0), (-15, 10, 0), (10, -12, 25)])
def test_it_recovers_yaw_and_pitch_of_a_projected_mean_face(yaw: float, pitch: float, roll: float) -> None:
    shape = (480, 640, 3)
    camera = camera_matrix(shape)
    # Face turned by yaw (about y), tilted by pitch (about x, nose up), rolled in the image plane.
    ry, rp, rr = (math.radians(v) for v in (yaw, pitch, roll))
    yaw_m = np.array([[math.cos(ry), 0, -math.sin(ry)], [0, 1, 0], [math.sin(ry), 0, math.cos(ry)]])
    pitch_m = np.array([[1, 0, 0], [0, math.cos(rp), math.sin(rp)], [0, -math.sin(rp), math.cos(rp)]])
    roll_m = np.array([[math.cos(rr), -math.sin(rr), 0], [math.sin(rr), math.cos(rr), 0], [0, 0, 1]])
    rotation = roll_m @ pitch_m @ yaw_m
    points, _ = cv2.projectPoints(MEAN_FACE_3D, cv2.Rodrigues(rotation)[0], np.array([0.0, 0.0, 600.0]), camera, None)
    pose = estimate_pose(points.reshape(5, 2), shape)
    assert pose.yaw == pytest.approx(yaw, abs=1.0)
    assert pose.pitch == pytest.approx(pitch, abs=1.0)
    # Roll is the eye line's angle, which perspective bends slightly away from the 3D roll.
    assert pose.roll == pytest.approx(roll_from_eyes(points.reshape(5, 2)))
    assert pose.roll == pytest.approx(roll, abs=5.0)


def test_it_flips_yaw_and_roll_on_a_mirrored_photo(face_data: Path) -> None:
    image = read_rgb(face_data / "lisa" / "lisa3.jpg")
    pose = estimate_pose(detect_faces(image)[0].landmarks, image.shape)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    mirror_pose = estimate_pose(detect_faces(mirrored)[0].landmarks, mirrored.shape)
    assert pose.roll < -15 and mirror_pose.roll > 15
    assert abs(pose.roll + mirror_pose.roll) < 2.0


def test_it_refuses_pose_for_points_outside_the_image() -> None:
    landmarks = np.array([[10.0, 10.0], [90.0, 10.0], [50.0, 50.0], [30.0, 80.0], [70.0, 180.0]])
    with pytest.raises(LandmarkError, match="outside"):
        estimate_pose(landmarks, (100, 100, 3))

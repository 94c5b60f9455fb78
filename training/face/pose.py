"""Head pose (yaw, pitch, roll in degrees) from the 5 landmarks, as the paper stores per face.

- **Roll** comes straight from the eye line: the angle of the vector left eye -> right eye
  against the image x axis, positive when the right eye (larger x) is lower, i.e. the head is
  tilted clockwise as seen in the image. It is exact for any landmarks, frontal or not.
- **Yaw and pitch** come from a Perspective-n-Point solve (``cv2.solvePnP``, iterative
  Levenberg-Marquardt seeded at the frontal pose) of the 5 points against
  :data:`MEAN_FACE_3D`, a 5-point mean face in millimetres, with a pinhole camera whose focal
  length is the image's long side and whose principal point is the image centre (a ~53 degree
  field of view, typical of photos; the estimate is not sensitive to it). Yaw is positive when
  the face turns towards the image's right (the nose moves right of the eye/mouth midline),
  pitch positive when the face tilts up.

Five points give only a coarse pose (a few degrees on frontal faces); like the paper's, it is
metadata for filtering and analysis, not a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from training.alignment import LandmarkError, check_landmarks

# The 5-point mean face (mm), in RAF-DB order: left eye centre, right eye centre, nose tip,
# left mouth corner, right mouth corner ("left" = image left of a frontal face). Axes: x to the
# image right, y down, z away from the camera, origin at the nose tip. Eye centres 63 mm apart
# (mean adult interpupillary distance) and 35 mm above the nose tip, set 30 mm back; mouth
# corners 50 mm apart, 30 mm below the nose tip and 18 mm back (rounded anthropometric means).
MEAN_FACE_3D = np.array(
    [
        [-31.5, -35.0, 30.0],
        [31.5, -35.0, 30.0],
        [0.0, 0.0, 0.0],
        [-25.0, 30.0, 18.0],
        [25.0, 30.0, 18.0],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees (see the module docstring for the signs)."""

    yaw: float
    pitch: float
    roll: float


def roll_from_eyes(landmarks: np.ndarray) -> float:
    """In-plane rotation of the eye line in degrees, in (-180, 180]."""
    points = check_landmarks(landmarks)
    dx, dy = points[1] - points[0]
    if math.hypot(dx, dy) < 1.0:
        raise LandmarkError("eye centres coincide: roll is undefined")
    return math.degrees(math.atan2(dy, dx))


def camera_matrix(image_shape: tuple[int, ...]) -> np.ndarray:
    """The ``(3, 3)`` pinhole intrinsics assumed for a photo of ``image_shape`` (H, W[, C])."""
    height, width = image_shape[:2]
    focal = float(max(height, width))
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def estimate_pose(landmarks: np.ndarray, image_shape: tuple[int, ...]) -> Pose:
    """Yaw, pitch and roll (degrees) of a face from its ``(5, 2)`` landmarks in an image of
    ``image_shape``. Raises :class:`LandmarkError` for unusable landmarks."""
    points = check_landmarks(landmarks, image_shape=image_shape)
    roll = roll_from_eyes(points)
    rotation = _solve_rotation(points, camera_matrix(image_shape))
    yaw, pitch = _yaw_pitch(rotation, roll)
    return Pose(yaw=yaw, pitch=pitch, roll=roll)


def _solve_rotation(points: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Rotation ``(3, 3)`` taking :data:`MEAN_FACE_3D` into the camera frame."""
    # Seed at a frontal face at the distance that matches the eyes' spread, so that the
    # iterative solve cannot flip to the mirror solution behind the camera.
    inter_ocular = float(np.linalg.norm(points[1] - points[0]))
    distance = camera[0, 0] * 63.0 / max(inter_ocular, 1.0)
    centre = points[2]
    offset = (centre - camera[:2, 2]) * distance / camera[0, 0]
    translation = np.array([offset[0], offset[1], distance]).reshape(3, 1)
    roll = math.radians(roll_from_eyes(points))
    rvec = np.array([0.0, 0.0, roll]).reshape(3, 1)
    ok, rvec, _ = cv2.solvePnP(
        MEAN_FACE_3D,
        points.astype(np.float64).reshape(5, 1, 2),
        camera,
        None,
        rvec=rvec,
        tvec=translation,
        useExtrinsicGuess=True,
        flags=cv2.SOLVEPNP_ITERATIVE,
    )
    if not ok:
        raise LandmarkError("no head pose fits these landmarks")
    rotation, _ = cv2.Rodrigues(rvec)
    return rotation


def _yaw_pitch(rotation: np.ndarray, roll: float) -> tuple[float, float]:
    """Yaw and pitch (degrees) of a rotation, in the face's upright frame.

    The face's forward direction is -z in model coordinates (towards the camera). Turning it
    back by the eye-line ``roll`` about the camera axis makes yaw a turn along the eye line
    and pitch a tilt across it, whatever the in-plane rotation of the photo."""
    forward = rotation @ np.array([0.0, 0.0, -1.0])  # (3,) where the face looks, camera frame
    cos, sin = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    forward = np.array([cos * forward[0] + sin * forward[1], -sin * forward[0] + cos * forward[1], forward[2]])
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    return yaw, pitch

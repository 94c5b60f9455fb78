"""Face alignment: a similarity transform of the eye centres and the mouth centre onto a
fixed template in a 100x100 output (the paper's alignment, PAPER.md 1 and 7).

Pure numpy/OpenCV; used by the platform (aligned derivatives of each Face) and by training
(RAF-DB originals + landmarks). Landmarks are ``(5, 2)`` pixel coordinates in RAF-DB order:
left eye, right eye, nose tip, left mouth corner, right mouth corner (left = smaller x).

The template (:data:`TEMPLATE`, pixel centres of the 100x100 output, x to the right, y down):

====================  ==========
anchor                (x, y)
====================  ==========
left eye centre       (32, 38)
right eye centre      (68, 38)
mouth centre          (50, 76)
====================  ==========

The transform is the least-squares similarity (rotation, uniform scale, translation; Umeyama's
closed form) taking the three anchors of a face onto the template. A face whose proportions
match the template lands exactly on it; any other face spreads the residual over the three
anchors (a face with a long chin has its eyes a little closer together than 36 px, etc.).
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 100
# Template in the 100x100 output: eyes level at y=38 and 36 px apart, mouth centre at y=76.
# Chosen so that the whole face (brows to chin) fits with a small margin, as in RAF-DB's
# aligned release.
TEMPLATE = np.array([[32.0, 38.0], [68.0, 38.0], [50.0, 76.0]], dtype=np.float64)
# Smallest distance (pixels) between eye centres, and between the eye midpoint and the mouth
# centre, that still defines a face: below it the transform is dominated by clicking noise.
MIN_ANCHOR_DISTANCE = 2.0


class LandmarkError(ValueError):
    """Landmarks that cannot define an alignment (coincident eyes, outside the image, NaN)."""


def check_landmarks(landmarks: np.ndarray, *, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Validate ``(5, 2)`` landmarks and return them as float64; raise :class:`LandmarkError`
    naming the problem. With ``image_shape`` (H, W[, C]) every point must lie in the image
    (``0 <= x <= W``, ``0 <= y <= H``)."""
    try:
        points = np.asarray(landmarks, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LandmarkError(f"landmarks are not numbers: {exc}") from exc
    if points.shape != (5, 2):
        raise LandmarkError(f"expected 5 landmarks of shape (5, 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise LandmarkError("landmarks contain NaN or infinite values")
    if image_shape is not None:
        height, width = image_shape[:2]
        outside = (points[:, 0] < 0) | (points[:, 0] > width) | (points[:, 1] < 0) | (points[:, 1] > height)
        if np.any(outside):
            names = ", ".join(LANDMARK_NAMES[i] for i in np.flatnonzero(outside))
            raise LandmarkError(f"landmarks fall outside the {width}x{height} image: {names}")
    return points


LANDMARK_NAMES = ("left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner")


def anchor_points(landmarks: np.ndarray) -> np.ndarray:
    """The three alignment anchors ``(3, 2)``: left eye, right eye, mouth centre."""
    points = check_landmarks(landmarks)
    return np.stack([points[0], points[1], (points[3] + points[4]) / 2.0])


def similarity_matrix(landmarks: np.ndarray, *, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The ``(2, 3)`` similarity transform (rotation, uniform scale, translation) that maps the
    anchors of ``landmarks`` onto :data:`TEMPLATE` in the least-squares sense."""
    check_landmarks(landmarks, image_shape=image_shape)
    anchors = anchor_points(landmarks)
    inter_ocular = float(np.linalg.norm(anchors[1] - anchors[0]))
    if inter_ocular < MIN_ANCHOR_DISTANCE:
        raise LandmarkError(f"eye centres coincide (inter-ocular distance {inter_ocular:.2f} px)")
    if float(np.linalg.norm(anchors[2] - anchors[:2].mean(axis=0))) < MIN_ANCHOR_DISTANCE:
        raise LandmarkError("mouth centre coincides with the eye midpoint")
    return fit_similarity(anchors, TEMPLATE)


def fit_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``(2, 3)`` taking ``source`` ``(N, 2)`` onto ``target`` ``(N, 2)``
    (Umeyama 1991, without reflection). Unlike ``cv2.estimateAffinePartial2D`` (a robust fit
    that may ignore one of three points) it uses every anchor."""
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    variance = float((src_c**2).sum()) / len(src)
    if variance <= 0:
        raise LandmarkError("anchors coincide: no similarity transform fits them")
    covariance = dst_c.T @ src_c / len(src)  # (2, 2)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign)) / variance
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine matrix to ``(N, 2)`` points; returns ``(N, 2)`` float64."""
    pts = np.asarray(points, np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def aligned_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """The 5 landmarks in the coordinates of the 100x100 aligned face, ``(5, 2)`` float32."""
    return transform_points(check_landmarks(landmarks), similarity_matrix(landmarks)).astype(np.float32)


def align_face(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Warp ``image`` (H, W) or (H, W, C) uint8 to the 100x100 aligned face."""
    matrix = similarity_matrix(landmarks, image_shape=image.shape)
    return cv2.warpAffine(
        image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def align_colour_and_grey(rgb: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The aligned colour ``(100, 100, 3)`` and grey ``(100, 100)`` uint8 faces of an RGB image."""
    colour = align_face(rgb, landmarks)
    return colour, to_grey(colour)


def to_grey(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) uint8 -> grey (H, W) uint8; a grey image is returned as is."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

"""Face alignment: a similarity transform of the eye centres and the mouth centre onto a
fixed template in a 100x100 output (the paper's alignment, PAPER.md 1 and 7).

Pure numpy/OpenCV; used by the platform (aligned derivatives of each Face) and by training
(RAF-DB originals + landmarks). Landmarks are ``(5, 2)`` pixel coordinates in RAF-DB order:
left eye, right eye, nose tip, left mouth corner, right mouth corner (left = smaller x).
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 100
# Template in the 100x100 output: eyes level at y=38 and 36 px apart, mouth centre at y=76.
# Chosen so that the whole face (brows to chin) fits with a small margin, as in RAF-DB's
# aligned release.
TEMPLATE = np.array([[32.0, 38.0], [68.0, 38.0], [50.0, 76.0]], dtype=np.float64)


class LandmarkError(ValueError):
    """Landmarks that cannot define an alignment (coincident eyes, outside the image, NaN)."""


def anchor_points(landmarks: np.ndarray) -> np.ndarray:
    """The three alignment anchors ``(3, 2)``: left eye, right eye, mouth centre."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (5, 2):
        raise LandmarkError(f"expected 5 landmarks of shape (5, 2), got {points.shape}")
    if not np.all(np.isfinite(points)):
        raise LandmarkError("landmarks contain NaN or infinite values")
    return np.stack([points[0], points[1], (points[3] + points[4]) / 2.0])


def similarity_matrix(landmarks: np.ndarray, *, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The ``(2, 3)`` similarity transform (rotation, uniform scale, translation) that maps the
    anchors of ``landmarks`` onto :data:`TEMPLATE` in the least-squares sense."""
    anchors = anchor_points(landmarks)
    if image_shape is not None:
        height, width = image_shape[:2]
        points = np.asarray(landmarks, dtype=np.float64)
        if np.any(points < 0) or np.any(points[:, 0] > width) or np.any(points[:, 1] > height):
            raise LandmarkError(f"landmarks fall outside the {width}x{height} image")
    inter_ocular = float(np.linalg.norm(anchors[1] - anchors[0]))
    if inter_ocular < 1.0:
        raise LandmarkError(f"eye centres coincide (inter-ocular distance {inter_ocular:.2f} px)")
    if float(np.linalg.norm(anchors[2] - anchors[:2].mean(axis=0))) < 1.0:
        raise LandmarkError("mouth centre coincides with the eye midpoint")
    return _least_squares_similarity(anchors, TEMPLATE)


def _least_squares_similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Closed-form least-squares similarity ``(2, 3)`` mapping ``source`` (n, 2) onto ``target``.

    Not ``cv2.estimateAffinePartial2D``: its robust methods (RANSAC, LMEDS) fit a 2-point minimal
    sample and, with only 3 anchors, jump between "eyes only" and "eye + mouth" fits under tiny
    landmark changes (scale changes of 15% for 0.01 px of noise).
    """
    # Similarity as complex multiplication: target = a * source + t, with a = s * e^{i theta}.
    src = source[:, 0] + 1j * source[:, 1]
    dst = target[:, 0] + 1j * target[:, 1]
    src_c, dst_c = src - src.mean(), dst - dst.mean()
    a = np.vdot(src_c, dst_c) / np.vdot(src_c, src_c).real
    t = dst.mean() - a * src.mean()
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]], dtype=np.float64)


def align_face(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Warp ``image`` (H, W) or (H, W, C) uint8 to the 100x100 aligned face."""
    matrix = similarity_matrix(landmarks, image_shape=image.shape)
    return cv2.warpAffine(
        image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def to_grey(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) uint8 -> grey (H, W) uint8; a grey image is returned as is."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)

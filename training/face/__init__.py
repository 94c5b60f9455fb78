"""Faces: detection with 5 landmarks (:mod:`training.face.detect`, MTCNN) and head pose
(:mod:`training.face.pose`). Alignment lives in :mod:`training.alignment`.

Pure numpy / OpenCV / ONNX Runtime; never imports Django.
"""

from __future__ import annotations

from training.face.detect import Detection, detect_faces
from training.face.pose import Pose, estimate_pose, roll_from_eyes

__all__ = ["Detection", "Pose", "detect_faces", "estimate_pose", "roll_from_eyes"]

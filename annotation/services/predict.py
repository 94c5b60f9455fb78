"""Expression prediction with a project's current model (its ONNX export, on CPU)."""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np
from django.core.files.storage import default_storage

from annotation.errors import ServiceError
from annotation.models import Project

_cache: dict[str, Any] = {}
_lock = threading.Lock()


def _predictor(storage_name: str) -> Any:
    """One loaded model per process and stored file (a new current model has a new name)."""
    from training.predict import Predictor

    with _lock:
        if storage_name not in _cache:
            with default_storage.open(storage_name, "rb") as handle:
                _cache.clear()  # keep one model in memory
                _cache[storage_name] = Predictor.from_onnx(handle.read())
        return _cache[storage_name]


def decode_rgb(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ServiceError("The upload is not a readable image.", code="invalid_image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def expression_predict(*, project: Project, data: bytes, aligned: bool = False) -> dict[str, Any]:
    """Detect the faces of an image, align and classify them with ``project.current_model``.

    Returns ``{"model": run_id, "classes": [...], "faces": [{"box", "confidence",
    "probabilities": {class: p}, "label"}]}``, the main face first (``[]`` when none is found).
    With ``aligned`` the image is taken as an aligned face (no detection).
    """
    run = project.current_model
    if run is None or "onnx" not in run.artefacts:
        raise ServiceError("The project has no current model.", code="no_current_model", status_code=409)
    rgb = decode_rgb(data)
    predictor = _predictor(run.artefacts["onnx"])
    faces = [predictor.predict_aligned_image(rgb)] if aligned else predictor.predict_image(rgb, all_faces=True)
    return {
        "model": run.pk,
        "classes": list(predictor.classes),
        "faces": [face.to_dict(predictor.classes) for face in faces],
    }

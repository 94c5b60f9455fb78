from __future__ import annotations

import numpy as np
import pytest

from training.alignment import (
    ALIGNED_SIZE,
    TEMPLATE,
    LandmarkError,
    align_colour_and_grey,
    aligned_landmarks,
    fit_similarity,
    similarity_matrix,
    transform_points,
)


def landmarks_on_template(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    """Exact landmarks: the template's anchors (plus a nose) moved by a known similarity."""
    theta = np.radians(angle_deg)
    rotation = scale * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    aligned = np.array([TEMPLATE[0], TEMPLATE[1], [50.0, 58.0], [40.0, 76.0], [60.0, 76.0]])
    return aligned @ rotation.T + np.asarray(shift)


@pytest.mark.parametrize(("angle", "scale", "shift"), [(0, 1, (0, 0)), (25, 2.5, (120, 80)), (-40, 0.7, (30, 60))])
def test_it_puts_exact_eye_centres_on_the_template(angle: float, scale: float, shift: tuple[float, float]) -> None:
    landmarks = landmarks_on_template(angle, scale, shift)
    moved = aligned_landmarks(landmarks)
    assert np.abs(moved[:2] - TEMPLATE[:2]).max() < 1.0
    assert np.abs(moved[3:].mean(axis=0) - TEMPLATE[2]).max() < 1.0


def test_it_draws_the_eyes_where_the_template_says() -> None:
    # A black image with two white dots at the eyes: after warping they sit on the template.
    landmarks = landmarks_on_template(30, 3.0, (150, 40))
    image = np.zeros((400, 400, 3), np.uint8)
    for x, y in landmarks[:2]:
        image[int(round(y)) - 2 : int(round(y)) + 3, int(round(x)) - 2 : int(round(x)) + 3] = 255
    colour, grey = align_colour_and_grey(image, landmarks)
    assert colour.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3) and grey.shape == (ALIGNED_SIZE, ALIGNED_SIZE)
    for (x, y), half in zip(TEMPLATE[:2], (slice(0, 50), slice(50, 100)), strict=True):
        ys, xs = np.nonzero(grey[:, half] > 60)
        assert abs(xs.mean() + half.start - x) < 1.0 and abs(ys.mean() - y) < 1.0


def test_it_fits_three_points_in_the_least_squares_sense() -> None:
    # A face with a long chin: no similarity is exact; the fit leaves no systematic shift.
    source = np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 40.0]])
    matrix = fit_similarity(source, TEMPLATE)
    residual = transform_points(source, matrix) - TEMPLATE
    assert np.allclose(residual.sum(axis=0), 0.0, atol=1e-9)
    assert np.abs(residual).max() > 0.5


@pytest.mark.parametrize(
    ("landmarks", "shape", "message"),
    [
        ([[50, 50], [50.5, 50], [50, 60], [45, 80], [55, 80]], None, "eye centres coincide"),
        ([[40, 50], [60, 50], [50, 60], [50, 50], [50, 50]], None, "mouth centre coincides"),
        ([[40, 50], [60, 50], [50, 60], [45, 80], [55, 120]], (100, 100, 3), "outside the 100x100 image"),
        ([[-4, 50], [60, 50], [50, 60], [45, 80], [55, 80]], (100, 100, 3), "left eye"),
        ([[40, 50], [60, 50], [np.nan, 60], [45, 80], [55, 80]], None, "NaN"),
        ([[40, 50], [60, 50]], None, r"shape \(5, 2\)"),
        ([["a", 1]] * 5, None, "not numbers"),
    ],
)
def test_it_refuses_degenerate_landmarks(landmarks: list, shape: tuple | None, message: str) -> None:
    with pytest.raises(LandmarkError, match=message):
        similarity_matrix(np.asarray(landmarks, dtype=object), image_shape=shape)

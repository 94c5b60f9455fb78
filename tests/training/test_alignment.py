from __future__ import annotations

import numpy as np

from training.alignment import TEMPLATE, anchor_points, similarity_matrix


def _mapped(landmarks: np.ndarray) -> np.ndarray:
    matrix = similarity_matrix(landmarks)
    return anchor_points(landmarks) @ matrix[:, :2].T + matrix[:, 2]


def test_it_recovers_an_exact_similarity() -> None:
    angle, scale = 0.3, 1.7
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    anchors = (TEMPLATE - [5.0, 7.0]) @ np.linalg.inv(rotation).T + 60.0
    landmarks = np.array([anchors[0], anchors[1], [0.0, 0.0], anchors[2] - [4, 0], anchors[2] + [4, 0]])
    np.testing.assert_allclose(_mapped(landmarks), TEMPLATE, atol=1e-9)


def test_it_is_stable_under_tiny_landmark_noise() -> None:
    # A robust (RANSAC/LMEDS) fit of 3 anchors jumps between minimal subsets; least squares does not.
    landmarks = np.array([[81.4, 70.1], [112.6, 69.2], [96.6, 92.0], [86.7, 105.8], [107.8, 109.8]])
    reference = similarity_matrix(landmarks)
    rng = np.random.default_rng(0)
    for _ in range(20):
        matrix = similarity_matrix(landmarks + rng.normal(0.0, 0.01, landmarks.shape))
        np.testing.assert_allclose(matrix[:, :2], reference[:, :2], atol=0.002)  # scale/rotation
        np.testing.assert_allclose(matrix[:, 2], reference[:, 2], atol=0.2)  # px

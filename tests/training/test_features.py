from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skimage.feature import hog

from training.datasets import load_dataset
from training.features import (
    ShapeNormaliser,
    extract,
    face_landmarks,
    gabor_features,
    hog_features,
    lbp_features,
    shape_features,
)


@pytest.fixture(scope="module")
def faces(synthetic_root: Path):
    return load_dataset(synthetic_root).select(np.arange(12))


def test_it_gives_the_papers_dimensions(faces) -> None:
    assert lbp_features(faces.images).shape == (12, 5900)  # 59 bins x 10 x 10 regions
    assert hog_features(faces.images).shape == (12, 4000)  # 10 x 10 blocks x 4 cells x 10 bins
    assert gabor_features(faces.images).shape == (12, 4000)  # 40 filters x 10 x 10
    assert shape_features(faces.auto_landmarks).shape == (12, 1332)  # 2 x 37 * 36 / 2
    assert shape_features(faces.landmarks).shape == (12, 20)  # 5-point fallback: 2 x 5 * 4 / 2


def test_it_makes_each_lbp_region_a_59_bin_histogram(faces) -> None:
    regions = lbp_features(faces.images).reshape(12, 100, 59)
    np.testing.assert_allclose(regions.sum(axis=2), 1.0, atol=1e-6)


def test_it_matches_scikit_image_hog_on_non_overlapping_blocks(faces) -> None:
    noise = (np.random.default_rng(0).random((2, 100, 100)) * 255).astype(np.uint8)
    images = np.concatenate([faces.images[:3], noise])
    reference = np.stack(
        [
            hog(im, orientations=10, pixels_per_cell=(5, 5), cells_per_block=(2, 2), block_norm="L2-Hys",
                feature_vector=False)[::2, ::2].ravel()
            for im in images
        ]
    )  # fmt: skip
    np.testing.assert_allclose(hog_features(images), reference, atol=1e-5)


def test_it_responds_to_gabor_orientation() -> None:
    # Vertical stripes at the highest frequency excite the theta=0 filter most.
    stripes = (127 + 120 * np.cos(2 * np.pi * 0.25 * np.arange(100)))[None, :].repeat(100, axis=0)
    energy = gabor_features(stripes[None].astype(np.uint8)).reshape(5, 8, 100).mean(axis=2)
    assert np.unravel_index(np.argmax(energy), energy.shape) == (0, 0)


def test_it_computes_pairwise_differences_and_the_papers_normalisation() -> None:
    points = np.array([[[0.0, 0.0], [1.0, 2.0], [4.0, 8.0]]])
    # pairs (0,1), (0,2), (1,2): x differences then y differences
    np.testing.assert_allclose(shape_features(points), [[-1, -4, -3, -2, -8, -6]])
    train = np.array([[0.0], [2.0], [4.0]])  # mu 2, sigma sqrt(8/3)
    normaliser = ShapeNormaliser().fit(train)
    sigma = np.sqrt(8 / 3)
    np.testing.assert_allclose(normaliser.transform(np.array([[2.0], [2 + sigma], [100.0]])).ravel(), [0.5, 0.75, 1.0])


def test_it_extracts_in_parallel_like_serially(faces) -> None:
    serial = extract(faces, "hog", n_jobs=1, progress=False)
    parallel = extract(faces, "hog", n_jobs=2, chunk=5, progress=False)
    np.testing.assert_array_equal(serial, parallel)
    assert face_landmarks(faces).shape == (12, 37, 2)
    with pytest.raises(ValueError, match="unknown feature"):
        extract(faces, "sift")
    with pytest.raises(ValueError, match=r"\(N, 100, 100\)"):
        lbp_features(np.zeros((2, 64, 64), np.uint8))

"""The paper's hand-crafted features on aligned 100x100 grey faces (PAPER.md 5).

==========  =========================================================  ===========
feature     definition                                                 dimension
==========  =========================================================  ===========
LBP         uniform LBP (P=8, R=2, 59 codes: scikit-image              10*10*59 = 5,900
            ``nri_uniform``), one histogram per 10x10-pixel region,
            10x10 regions, each histogram sums to 1
HOG         OpenCV HOG, 5x5-pixel cells, blocks of 2x2 cells = 10x10     100*4*10 = 4,000
            pixels, block stride 10 (no overlap), 10 unsigned bins,
            L2-Hys per block
Gabor       magnitude of 40 complex Gabor filters (scikit-image           40*10*10 = 4,000
            ``gabor_kernel``; 5 scales, frequencies 0.25/sqrt(2)^s;
            8 orientations k*pi/8), each response averaged down to 10x10
shape       all pairwise landmark coordinate differences x_i-x_j,        37 -> 1,332
            y_i-y_j (i<j); 37 automatic landmarks when the data has      5 -> 20
            them, else the 5 manual ones (documented fallback)
==========  =========================================================  ===========

The shape feature is normalised with training statistics as in the paper,
``f~ = ((f - mu) / (2 sigma) + 1) / 2`` clipped to [0, 1] (:class:`ShapeNormaliser`).

Extraction runs over chunks of images in parallel worker processes (joblib), one feature at a
time, with float32 output to keep 15,000 x 5,900 matrices at ~350 MB.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from joblib import Parallel, delayed
from scipy import fft as sp_fft
from skimage.feature import local_binary_pattern
from skimage.filters import gabor_kernel
from sklearn.base import BaseEstimator, TransformerMixin
from tqdm import tqdm

from training.datasets import FaceSet

IMAGE_SIZE = 100
GRID = 10  # regions per side (LBP) and output size of each Gabor response
LBP_POINTS, LBP_RADIUS, LBP_BINS = 8, 2, 59
HOG_CELL, HOG_BLOCK, HOG_BINS = 5, 10, 10
GABOR_FREQUENCIES = tuple(0.25 / math.sqrt(2) ** s for s in range(5))
GABOR_ORIENTATIONS = tuple(k * math.pi / 8 for k in range(8))
_GABOR_PAD = 30  # reflect padding >= the largest kernel's half size (27 px), so no wrap-around
_GABOR_FFT = IMAGE_SIZE + 2 * _GABOR_PAD

FEATURES = ("lbp", "hog", "gabor", "shape")
DIMENSIONS = {"lbp": GRID * GRID * LBP_BINS, "hog": 4000, "gabor": 40 * GRID * GRID}


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected aligned faces of shape (N, 100, 100), got {images.shape}")
    return images


def lbp_features(images: np.ndarray) -> np.ndarray:
    """Uniform LBP histograms ``(N, 5900)`` float32 of faces ``(N, 100, 100)`` uint8."""
    images = _check_images(images)
    out = np.empty((images.shape[0], GRID * GRID * LBP_BINS), dtype=np.float32)
    cell = IMAGE_SIZE // GRID
    # Region index of every pixel, row-major over the 10x10 grid.
    rows, cols = np.divmod(np.arange(IMAGE_SIZE * IMAGE_SIZE), IMAGE_SIZE)
    region = (rows // cell) * GRID + cols // cell
    for i, image in enumerate(images):
        codes = local_binary_pattern(image, LBP_POINTS, LBP_RADIUS, method="nri_uniform").astype(np.int64)
        counts = np.bincount(region * LBP_BINS + codes.ravel(), minlength=GRID * GRID * LBP_BINS)
        out[i] = counts / float(cell * cell)
    return out


def hog_features(images: np.ndarray, *, batch: int = 64) -> np.ndarray:
    """Non-overlapping-block HOG ``(N, 4000)`` float32 of faces ``(N, 100, 100)`` uint8.

    Equal to ``skimage.feature.hog(image, orientations=10, pixels_per_cell=(5, 5),
    cells_per_block=(2, 2), block_norm="L2-Hys", feature_vector=False)[::2, ::2].ravel()``
    (scikit-image slides blocks one cell at a time; every other block is the non-overlapping
    tiling the paper uses), checked by a test. scikit-image's per-cell Cython loop costs ~11 ms
    per face, so the same arithmetic runs here batched in numpy (~1 ms).
    """
    images = _check_images(images)
    n = images.shape[0]
    out = np.empty((n, DIMENSIONS["hog"]), dtype=np.float32)
    cells = IMAGE_SIZE // HOG_CELL  # 20 cells per side
    step = HOG_BLOCK // HOG_CELL  # 2 cells per block side
    rows, cols = np.divmod(np.arange(IMAGE_SIZE * IMAGE_SIZE), IMAGE_SIZE)
    cell_index = ((rows // HOG_CELL) * cells + cols // HOG_CELL) * HOG_BINS  # (10000,)
    for start in range(0, n, batch):
        chunk = images[start : start + batch].astype(np.float64)  # (B, 100, 100)
        b = chunk.shape[0]
        # Central differences, zero on the border rows/columns (scikit-image's convention).
        g_row = np.zeros_like(chunk)
        g_col = np.zeros_like(chunk)
        g_row[:, 1:-1, :] = chunk[:, 2:, :] - chunk[:, :-2, :]
        g_col[:, :, 1:-1] = chunk[:, :, 2:] - chunk[:, :, :-2]
        magnitude = np.hypot(g_col, g_row).reshape(b, -1)
        orientation = np.rad2deg(np.arctan2(g_row, g_col)).reshape(b, -1) % 180.0
        bins = np.minimum((orientation / (180.0 / HOG_BINS)).astype(np.int64), HOG_BINS - 1)
        index = np.arange(b)[:, None] * (cells * cells * HOG_BINS) + cell_index[None, :] + bins
        counts = np.bincount(index.ravel(), weights=magnitude.ravel(), minlength=b * cells * cells * HOG_BINS)
        histogram = counts.reshape(b, cells // step, step, cells // step, step, HOG_BINS) / (HOG_CELL * HOG_CELL)
        blocks = histogram.transpose(0, 1, 3, 2, 4, 5).reshape(b, (cells // step) ** 2, -1)  # (B, 100, 40)
        # L2-Hys: L2 normalise, clip at 0.2, normalise again (eps as in scikit-image).
        eps = 1e-5
        blocks = blocks / np.sqrt(np.sum(blocks**2, axis=2, keepdims=True) + eps**2)
        blocks = np.minimum(blocks, 0.2)
        blocks = blocks / np.sqrt(np.sum(blocks**2, axis=2, keepdims=True) + eps**2)
        out[start : start + b] = blocks.reshape(b, -1)
    return out


_GABOR_SPECTRA: np.ndarray | None = None


def gabor_spectra() -> np.ndarray:
    """FFTs ``(40, 160, 160)`` complex64 of the Gabor bank, kernels centred at the origin."""
    global _GABOR_SPECTRA
    if _GABOR_SPECTRA is None:
        spectra = []
        for frequency in GABOR_FREQUENCIES:
            for theta in GABOR_ORIENTATIONS:
                kernel = gabor_kernel(frequency, theta=theta)  # complex, odd size
                half_h, half_w = kernel.shape[0] // 2, kernel.shape[1] // 2
                assert max(half_h, half_w) <= _GABOR_PAD, "kernel larger than the padding"
                padded = np.zeros((_GABOR_FFT, _GABOR_FFT), dtype=np.complex128)
                padded[: kernel.shape[0], : kernel.shape[1]] = kernel
                padded = np.roll(padded, (-half_h, -half_w), axis=(0, 1))
                spectra.append(sp_fft.fft2(padded))
        _GABOR_SPECTRA = np.asarray(spectra, dtype=np.complex64)
    return _GABOR_SPECTRA


def gabor_features(images: np.ndarray, *, batch: int = 8) -> np.ndarray:
    """Gabor magnitude responses averaged to 10x10 ``(N, 4000)`` float32 (filter-major order)."""
    images = _check_images(images)
    spectra = gabor_spectra()
    n = images.shape[0]
    out = np.empty((n, DIMENSIONS["gabor"]), dtype=np.float32)
    pad, cell = _GABOR_PAD, IMAGE_SIZE // GRID
    for start in range(0, n, batch):
        chunk = images[start : start + batch].astype(np.float32) / 255.0
        padded = np.pad(chunk, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")  # (B, 160, 160)
        image_fft = sp_fft.fft2(padded)[:, None]  # (B, 1, 160, 160)
        response = np.abs(sp_fft.ifft2(image_fft * spectra[None]))  # (B, 40, 160, 160)
        central = response[:, :, pad : pad + IMAGE_SIZE, pad : pad + IMAGE_SIZE]
        pooled = central.reshape(chunk.shape[0], 40, GRID, cell, GRID, cell).mean(axis=(3, 5))
        out[start : start + chunk.shape[0]] = pooled.reshape(chunk.shape[0], -1)
    return out


def shape_features(landmarks: np.ndarray) -> np.ndarray:
    """Pairwise coordinate differences ``(N, L(L-1))`` float32 of landmarks ``(N, L, 2)``:
    all x_i - x_j for i < j, then all y_i - y_j (1,332-d for 37 points, 20-d for 5)."""
    points = np.asarray(landmarks, dtype=np.float32)
    if points.ndim != 3 or points.shape[2] != 2 or points.shape[1] < 2:
        raise ValueError(f"expected landmarks of shape (N, L, 2), got {points.shape}")
    i, j = np.triu_indices(points.shape[1], k=1)
    return np.concatenate([points[:, i, 0] - points[:, j, 0], points[:, i, 1] - points[:, j, 1]], axis=1)


def face_landmarks(faces: FaceSet) -> np.ndarray:
    """The landmarks the shape feature uses: the 37 automatic ones when present, else the 5
    manual ones (the paper uses 37; 5 is the documented fallback)."""
    if faces.auto_landmarks is not None:
        return faces.auto_landmarks
    if faces.landmarks is not None:
        return faces.landmarks
    raise ValueError("the shape feature needs landmarks; this dataset has none")


class ShapeNormaliser(TransformerMixin, BaseEstimator):
    """The paper's normalisation ``((f - mu) / (2 sigma) + 1) / 2`` clipped to [0, 1], with the
    mean and standard deviation learned on the training features."""

    def fit(self, x: np.ndarray, y: object = None) -> ShapeNormaliser:
        x = np.asarray(x, dtype=np.float64)
        self.mean_ = x.mean(axis=0)
        sigma = x.std(axis=0)
        self.scale_ = np.where(sigma > 0, sigma, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        scaled = ((np.asarray(x, dtype=np.float64) - self.mean_) / (2.0 * self.scale_) + 1.0) / 2.0
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)


_EXTRACTORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "lbp": lbp_features,
    "hog": hog_features,
    "gabor": gabor_features,
}


def extract(
    faces: FaceSet,
    feature: str,
    *,
    n_jobs: int = 2,
    chunk: int = 400,
    progress: bool = True,
) -> np.ndarray:
    """Feature matrix ``(N, D)`` float32 of ``faces`` for ``feature`` in :data:`FEATURES`.

    Image features run over chunks in ``n_jobs`` worker processes; shape is computed directly.
    """
    if feature == "shape":
        return shape_features(face_landmarks(faces))
    if feature not in _EXTRACTORS:
        raise ValueError(f"unknown feature {feature!r}; choose from {', '.join(FEATURES)}")
    function = _EXTRACTORS[feature]
    images = faces.images
    parts = [images[i : i + chunk] for i in range(0, images.shape[0], chunk)]
    bar = tqdm(total=images.shape[0], desc=f"{feature} features", unit="img", disable=not progress, leave=False)
    results: list[np.ndarray] = []
    if n_jobs == 1 or len(parts) == 1:
        for part in parts:
            results.append(function(part))
            bar.update(part.shape[0])
    else:
        for result in Parallel(n_jobs=n_jobs, return_as="generator")(delayed(function)(part) for part in parts):
            results.append(result)
            bar.update(result.shape[0])
    bar.close()
    return np.concatenate(results, axis=0)

"""The paper's ground truth per image: reliability-weighted votes of the kept annotators.

``g_jk = sum_i w_i [t_j^i = k]`` normalised over ``k``, with ``w_i`` the annotator's
reliability (clipped at 0, so that a negative estimate cannot subtract votes) and ``w_i = 0``
for dropped annotators. An image whose kept votes all weigh 0 falls back to its raw vote
proportions, and an image with no votes at all to the uniform distribution.
"""

from __future__ import annotations

import numpy as np

from reliability.votes import VoteTable


def ground_truth(table: VoteTable, weights: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """``(n_images, n_classes)`` distributions from ``weights`` ``(n_annotators,)`` and the
    optional ``kept`` mask ``(n_annotators,)``."""
    weights = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0.0, None)
    if kept is not None:
        weights = np.where(np.asarray(kept, dtype=bool), weights, 0.0)
    k = table.n_classes
    flat = np.bincount(table.image * k + table.label, weights=weights[table.annotator], minlength=table.n_images * k)
    g = flat.reshape(table.n_images, k)
    totals = g.sum(axis=1, keepdims=True)
    raw = table.counts().astype(np.float64)
    raw_totals = raw.sum(axis=1, keepdims=True)
    fallback = np.where(raw_totals > 0, raw / np.maximum(raw_totals, 1), 1.0 / k)
    return np.where(totals > 0, g / np.where(totals > 0, totals, 1.0), fallback)

"""Agreement statistics over a vote table (both handle missing votes: not every annotator labels
every image).

Cronbach's alpha, as used here (the paper reports 0.966 for all RAF-DB labels without saying
how; this is the definition that fits its design): images are the subjects and the votes an
image received are interchangeable measurements (raters are assigned at random, so vote slots
are exchangeable). Each vote is scored as its one-hot class vector. Then

    alpha = 1 - MS_within / MS_between

from a one-way analysis of variance of the one-hot vectors (sums of squares added over the K
components), which is the average-measures intraclass correlation ICC(1, k). For a complete
design with exchangeable raters it equals Cronbach's alpha with vote slots as items; unlike the
items-as-annotators form it is defined when every annotator sees a different set of images. With
``k`` votes per image it behaves like the Spearman-Brown prophecy ``k r / (1 + (k - 1) r)`` of the
single-vote agreement ``r``, which is why 40 votes per image give a value near 0.97 even when
single votes agree moderately.

Krippendorff's alpha (nominal): ``alpha = 1 - D_o / D_e`` from the coincidence matrix, using
only images with at least two votes (the standard treatment of missing data).
"""

from __future__ import annotations

import numpy as np

from reliability.votes import VoteTable


def cronbach_alpha(table: VoteTable) -> float:
    """Cronbach's alpha of the one-hot votes (definition in the module docstring); NaN when
    undefined (fewer than two images, or no vote shares an image with another)."""
    counts = table.counts().astype(np.float64)  # (J, K)
    per_image = counts.sum(axis=1)
    counts, per_image = counts[per_image > 0], per_image[per_image > 0]
    n_images, n_votes = counts.shape[0], float(per_image.sum())
    if n_images < 2 or n_votes <= n_images:
        return float("nan")
    class_totals = counts.sum(axis=0)
    ss_total = n_votes - float(np.dot(class_totals, class_totals)) / n_votes
    ss_within = float(np.sum(per_image - np.sum(counts**2, axis=1) / per_image))
    ss_between = ss_total - ss_within
    ms_between = ss_between / (n_images - 1)
    ms_within = ss_within / (n_votes - n_images)
    if ms_between <= 0:
        return float("nan")
    return 1.0 - ms_within / ms_between


def krippendorff_alpha(table: VoteTable) -> float:
    """Krippendorff's alpha for nominal data with missing values; NaN when undefined."""
    counts = table.counts().astype(np.float64)  # (J, K)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if counts.shape[0] == 0:
        return float("nan")
    n = float(m.sum())
    # Off-diagonal mass of the coincidence matrix: sum over units of (m^2 - sum_k c_k^2) / (m - 1).
    observed = float(np.sum((m**2 - np.sum(counts**2, axis=1)) / (m - 1)))
    class_totals = counts.sum(axis=0)
    expected = (n**2 - float(np.dot(class_totals, class_totals))) / (n - 1)
    if expected == 0:
        return float("nan") if observed else 1.0
    return 1.0 - observed / expected

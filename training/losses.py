"""Losses of DLP-CNN (PAPER.md 6): softmax, centre loss and the locality-preserving loss.

The locality-preserving (LP) loss pulls each deep feature ``x_i`` toward the centroid of its
``k`` nearest same-class neighbours::

    L_lp = 1/(2n) * sum_i || x_i - c_i ||^2,   c_i = mean of the k nearest same-class x_j (j != i)

``c_i`` is a constant (detached), so ``dL_lp/dx_i = (x_i - c_i) / n`` with ``n`` the batch size.
A sample with fewer than ``k`` same-class neighbours averages over those it has (dividing by
``k`` would pull rare classes toward zero), and one with none contributes nothing. Neighbours
come from the mini-batch or, as in the paper, from a feature bank over the whole training set
that each batch refreshes with its own features.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from training.targets import TargetLoss

NeighbourSource = Literal["bank", "batch"]


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """Losses are computed in float32 (or float64 when given) even under mixed precision."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def lp_loss_from_centroids(features: torch.Tensor, centroids: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``1/(2n) sum_i ||x_i - c_i||^2`` over samples that have neighbours (``counts > 0``).

    ``features`` (B, D) with grad, ``centroids`` (B, D) constant, ``counts`` (B,) neighbours used.
    """
    has_neighbours = (counts > 0).to(features.dtype)  # (B,)
    squared = (features - centroids.detach()).pow(2).sum(dim=1)  # (B,)
    return 0.5 * (squared * has_neighbours).sum() / features.shape[0]


def _masked_centroids(scores: torch.Tensor, candidates: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroid of the ``k`` lowest finite ``scores`` per row.

    ``scores`` (Q, M): distances (up to a per-row constant), ``inf`` for excluded candidates;
    ``candidates`` (M, D). Returns centroids (Q, D) and the number of neighbours used (Q,).
    """
    k = min(k, scores.shape[1])
    if k == 0:
        return scores.new_zeros(scores.shape[0], candidates.shape[1]), scores.new_zeros(scores.shape[0])
    values, index = torch.topk(scores, k, dim=1, largest=False)  # (Q, k)
    valid = torch.isfinite(values).to(candidates.dtype)  # (Q, k): fewer than k neighbours -> some invalid
    counts = valid.sum(dim=1)  # (Q,)
    neighbours = candidates[index]  # (Q, k, D)
    sums = (neighbours * valid.unsqueeze(-1)).sum(dim=1)  # (Q, D)
    centroids = sums / counts.clamp(min=1).unsqueeze(-1)
    return centroids, counts


def batch_neighbour_centroids(
    features: torch.Tensor, labels: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neighbours searched inside the mini-batch. ``features`` (B, D), ``labels`` (B,) ->
    centroids (B, D) and neighbour counts (B,)."""
    x = _at_least_float32(features.detach())
    squared_norms = x.pow(2).sum(dim=1)  # (B,)
    # ||x_i||^2 is constant per row, so ranking by ||x_j||^2 - 2 x_i.x_j ranks by distance.
    scores = squared_norms.unsqueeze(0) - 2.0 * x @ x.T  # (B, B)
    excluded = (labels.unsqueeze(0) != labels.unsqueeze(1)) | torch.eye(len(labels), dtype=torch.bool, device=x.device)
    scores = scores.masked_fill(excluded, float("inf"))
    return _masked_centroids(scores, x, k)


class FeatureBank(nn.Module):
    """Deep features of every training sample, stored grouped by class.

    Rows are sorted by class so that class ``c`` is the contiguous slice
    ``bank[start[c]:start[c+1]]``; a query of class ``c`` computes distances only to that slice
    (one ``(B_c, N_c)`` matmul) and picks neighbours with ``torch.topk``. Entries not yet
    written are excluded, as is the query's own (stale) entry.
    """

    row_of: torch.Tensor
    start: torch.Tensor
    bank: torch.Tensor
    squared_norms: torch.Tensor
    filled: torch.Tensor

    def __init__(self, labels: torch.Tensor, dim: int, n_classes: int) -> None:
        super().__init__()
        labels = labels.long().cpu()
        order = torch.argsort(labels, stable=True)  # (N,) dataset index of each bank row
        row_of = torch.empty_like(order)
        row_of[order] = torch.arange(len(order))
        counts = torch.bincount(labels, minlength=n_classes)
        start = torch.zeros(n_classes + 1, dtype=torch.long)
        start[1:] = torch.cumsum(counts, 0)
        self.register_buffer("row_of", row_of)  # (N,) bank row of each dataset index
        self.register_buffer("start", start)  # (C + 1,)
        self.register_buffer("bank", torch.zeros(len(labels), dim))  # (N, D)
        self.register_buffer("squared_norms", torch.zeros(len(labels)))  # (N,)
        self.register_buffer("filled", torch.zeros(len(labels), dtype=torch.bool))  # (N,)
        self._start_list = start.tolist()  # host copy: slicing needs Python ints, no device sync

    def neighbour_centroids(
        self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``features`` (B, D), ``labels`` (B,), dataset ``indices`` (B,) -> centroids (B, D), counts (B,)."""
        x = features.detach().float()
        centroids = torch.zeros_like(x)
        counts = x.new_zeros(x.shape[0])
        rows = self.row_of[indices]  # (B,)
        for c in torch.unique(labels).tolist():
            lo, hi = self._start_list[c], self._start_list[c + 1]
            query = (labels == c).nonzero(as_tuple=True)[0]  # (B_c,)
            members = self.bank[lo:hi]  # (N_c, D), a view
            scores = self.squared_norms[lo:hi].unsqueeze(0) - 2.0 * x[query] @ members.T  # (B_c, N_c)
            scores = scores.masked_fill(~self.filled[lo:hi].unsqueeze(0), float("inf"))
            scores[torch.arange(len(query), device=x.device), rows[query] - lo] = float("inf")  # not itself
            centroids[query], counts[query] = _masked_centroids(scores, members, k)
        return centroids, counts

    @torch.no_grad()
    def update(self, features: torch.Tensor, indices: torch.Tensor) -> None:
        """Refresh the bank with a batch's features ``(B, D)`` at dataset ``indices`` ``(B,)``."""
        x = features.detach().float()
        rows = self.row_of[indices]
        self.bank[rows] = x
        self.squared_norms[rows] = x.pow(2).sum(dim=1)
        self.filled[rows] = True


class LocalityPreservingLoss(nn.Module):
    """``forward(features, labels, indices) -> L_lp``; call :meth:`update` after the step."""

    def __init__(
        self,
        k: int,
        *,
        source: NeighbourSource = "bank",
        train_labels: torch.Tensor | None = None,
        dim: int = 2000,
        n_classes: int = 7,
    ) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if source not in ("bank", "batch"):
            raise ValueError(f"neighbour source must be 'bank' or 'batch', got {source!r}")
        if source == "bank" and train_labels is None:
            raise ValueError("the feature bank needs the training labels")
        self.k = k
        self.source = source
        self.bank: FeatureBank | None = (
            FeatureBank(train_labels, dim, n_classes) if train_labels is not None and source == "bank" else None
        )

    def forward(
        self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.bank is not None:
            if indices is None:
                raise ValueError("the bank source needs the samples' dataset indices")
            centroids, counts = self.bank.neighbour_centroids(features, labels, indices, self.k)
        else:
            centroids, counts = batch_neighbour_centroids(features, labels, self.k)
        x = _at_least_float32(features)
        return lp_loss_from_centroids(x, centroids.to(x.dtype), counts.to(x.dtype))

    def update(self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor | None = None) -> None:
        if self.bank is not None and indices is not None:
            self.bank.update(features, indices)


class CenterLoss(nn.Module):
    """Centre loss (Wen et al. 2016): ``1/(2n) sum_i ||x_i - c_{y_i}||^2`` with centres as buffers
    moved toward their class's batch features by :meth:`update` (rate ``alpha``)."""

    centers: torch.Tensor

    def __init__(self, n_classes: int, dim: int, *, alpha: float = 0.5) -> None:
        super().__init__()
        self.alpha = alpha
        self.register_buffer("centers", torch.zeros(n_classes, dim))  # (C, D)

    def forward(
        self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor | None = None
    ) -> torch.Tensor:
        x = _at_least_float32(features)
        return 0.5 * (x - self.centers[labels].to(x.dtype)).pow(2).sum() / x.shape[0]

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor | None = None) -> None:
        # delta c_j = sum_{y_i = j} (c_j - x_i) / (1 + n_j)   (Wen et al., eq. 4)
        x = features.detach().float()
        diff = self.centers[labels] - x  # (B, D)
        delta = torch.zeros_like(self.centers).index_add_(0, labels, diff)
        n = torch.bincount(labels, minlength=self.centers.shape[0]).to(x.dtype)
        self.centers -= self.alpha * delta / (1.0 + n).unsqueeze(1)


class DLPCriterion(nn.Module):
    """``L = L_softmax + lambda * L_aux``: the softmax part is the cross-entropy with the target
    of :class:`training.targets.TargetLoss` (the top class by default), the auxiliary loss is LP,
    centre, or none."""

    def __init__(self, auxiliary: nn.Module | None, lambda_: float, classification: TargetLoss | None = None) -> None:
        super().__init__()
        self.auxiliary = auxiliary
        self.lambda_ = lambda_
        self.classification = classification or TargetLoss("majority")

    def forward(
        self,
        logits: torch.Tensor,
        features: torch.Tensor,
        labels: torch.Tensor,
        indices: torch.Tensor,
        distributions: torch.Tensor | None = None,
        sampled: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        softmax = self.classification(logits, labels, distributions, sampled)
        if self.auxiliary is None:
            return softmax, {"softmax": softmax.detach()}
        auxiliary = self.auxiliary(features, labels, indices)
        return softmax + self.lambda_ * auxiliary, {"softmax": softmax.detach(), "auxiliary": auxiliary.detach()}

    def update(self, features: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor) -> None:
        if self.auxiliary is not None:
            self.auxiliary.update(features, labels, indices)  # type: ignore[operator]


def build_criterion(
    loss: str,
    *,
    lambda_: float,
    k: int,
    neighbours: NeighbourSource,
    train_labels: torch.Tensor,
    n_classes: int,
    dim: int,
    center_alpha: float = 0.5,
    target: str = "majority",
    multitarget_threshold: float = 0.3,
) -> DLPCriterion:
    """``loss`` is ``"lp"``, ``"center"`` or ``"softmax"``; ``target`` one of
    :data:`training.config.TARGETS`."""
    classification = TargetLoss(target, threshold=multitarget_threshold)
    if loss == "softmax":
        return DLPCriterion(None, 0.0, classification)
    if loss == "center":
        return DLPCriterion(CenterLoss(n_classes, dim, alpha=center_alpha), lambda_, classification)
    if loss == "lp":
        return DLPCriterion(
            LocalityPreservingLoss(k, source=neighbours, train_labels=train_labels, dim=dim, n_classes=n_classes),
            lambda_,
            classification,
        )
    raise ValueError(f"unknown loss {loss!r}: expected lp, center or softmax")

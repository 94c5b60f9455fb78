"""Training on the crowd's label distribution: FERPlus's four target modes (Barsoum et al.,
"Training deep networks for facial expression recognition with crowd-sourced label
distribution", ICMI 2016), as the classification part of the DLP-CNN loss.

With ``q = softmax(logits)`` ``(B, C)``, ``p`` the crowd's distribution ``(B, C)`` and ``y`` the
dataset's single label ``(B,)`` (RAF-DB's label, the top class of the crowd's votes):

- ``majority``: ``-log q[y]``, the usual cross-entropy with the top class.
- ``probability``: ``-log q[s]`` with ``s`` drawn from ``p``; a fresh draw each time an image is
  seen, i.e. once per epoch (:meth:`training.engine.BatchSampler.sampled_labels`).
- ``crossentropy``: ``-sum_k p_k log q_k``, the distribution as a soft target.
- ``multitarget``: ``-log max_{k in S} q_k`` with ``S`` the classes holding at least
  ``threshold`` of the votes (FERPlus: 0.3), plus the top class so ``S`` is never empty. Any
  class the crowd backs counts as right; the network may pick one.

Each is averaged over the batch. The LP and centre losses group features by ``y`` whatever the
target, since their neighbours and centres are per class.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.config import TARGETS


class TargetLoss(nn.Module):
    """``forward(logits (B, C), labels (B,), distributions (B, C) | None, sampled (B,) | None) -> loss``."""

    def __init__(self, target: str = "majority", *, threshold: float = 0.3) -> None:
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: expected one of {', '.join(TARGETS)}")
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the multitarget threshold must lie in (0, 1], got {threshold}")
        self.target = target
        self.threshold = threshold

    @property
    def needs_distributions(self) -> bool:
        return self.target != "majority"

    def forward(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        distributions: torch.Tensor | None = None,
        sampled: torch.Tensor | None = None,
    ) -> torch.Tensor:
        logits = logits.float()
        if self.target == "majority":
            return F.cross_entropy(logits, labels)
        if self.target == "probability":
            if sampled is None:
                raise ValueError("the probability target needs labels sampled from the distributions")
            return F.cross_entropy(logits, sampled)
        if distributions is None:
            raise ValueError(f"the {self.target} target needs the crowd's distributions")
        p = distributions.float()  # (B, C)
        log_q = F.log_softmax(logits, dim=1)  # (B, C)
        if self.target == "crossentropy":
            return -(p * log_q).sum(dim=1).mean()
        # multitarget
        members = p >= self.threshold  # (B, C)
        members[torch.arange(p.shape[0], device=p.device), labels] = True
        best = log_q.masked_fill(~members, float("-inf")).amax(dim=1)  # (B,)
        return -best.mean()


def sample_labels(distributions: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One label per row of ``distributions`` ``(B, C)`` (on the CPU generator's device) -> ``(B,)``."""
    return torch.multinomial(distributions.float().cpu().clamp_min(0.0), 1, generator=generator).squeeze(1)

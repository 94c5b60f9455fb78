"""baseDCNN, the network of DLP-CNN (PAPER.md 6, Table IV), read top to bottom.

Six 3x3 convolutions (stride 1, pad 1, ReLU) with ceil-mode 2x2 max pools after conv1, conv2
and conv4, so that a 90x90 crop reaches 256x12x12 (Caffe rounds pooled sizes up); fc1 with
ReLU is the 2000-d deep feature the locality-preserving loss acts on; fc2 gives the logits.
MSRA (He) initialisation, zero biases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

PAPER_CHANNELS: tuple[int, ...] = (64, 96, 128, 128, 256, 256)
PAPER_FEATURE_DIM = 2000
# Layers followed by a 2x2 pool (0-based conv index): after conv1, conv2 and conv4.
POOL_AFTER: frozenset[int] = frozenset({0, 1, 3})


def pooled_size(size: int) -> int:
    """Spatial size after the three ceil-mode pools: 90 -> 45 -> 23 -> 12."""
    for _ in POOL_AFTER:
        size = math.ceil(size / 2)
    return size


class BaseDCNN(nn.Module):
    """baseDCNN: ``forward(x) -> (logits (B, C), features (B, feature_dim))``.

    ``x`` is ``(B, 1, H, W)`` float grey in [0, 1] (the paper divides by 255), H = W = ``input_size``;
    the network subtracts ``input_mean`` itself.
    """

    input_mean: torch.Tensor

    def __init__(
        self,
        n_classes: int = 7,
        *,
        channels: Sequence[int] = PAPER_CHANNELS,
        feature_dim: int = PAPER_FEATURE_DIM,
        input_size: int = 90,
        input_mean: float = 0.5,
    ) -> None:
        super().__init__()
        if len(channels) != 6:
            raise ValueError(f"baseDCNN has 6 conv layers, got {len(channels)} channel counts")
        layers: list[nn.Module] = []
        in_channels = 1
        for index, out_channels in enumerate(channels):
            layers += [nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1), nn.ReLU(inplace=True)]
            if index in POOL_AFTER:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
            in_channels = out_channels
        self.features = nn.Sequential(*layers)
        side = pooled_size(input_size)
        self.fc1 = nn.Linear(in_channels * side * side, feature_dim)
        self.fc2 = nn.Linear(feature_dim, n_classes)
        self.n_classes = n_classes
        self.feature_dim = feature_dim
        self.input_size = input_size
        # Subtracted from the [0, 1] input. The paper only divides by 255; centring the input
        # makes SGD from scratch leave the "predict the majority class" plateau several times
        # sooner (measured on the synthetic set). A buffer, so exports carry it.
        self.register_buffer("input_mean", torch.tensor(float(input_mean)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MSRA (He) init for every conv and fc weight, zero biases (as the paper's Caffe model)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x - self.input_mean)  # (B, 256, 12, 12) for a 90x90 input
        features = torch.relu(self.fc1(torch.flatten(h, 1)))  # (B, 2000): the deep feature
        logits = self.fc2(features)  # (B, C)
        return logits, features


def parameter_groups(model: BaseDCNN, *, weight_decay: float, fc2_weight_decay: float) -> list[dict[str, Any]]:
    """SGD parameter groups with the paper's per-layer weight decay.

    Conv and fc1 weights decay by ``weight_decay`` (5e-4), fc2's weight by ``fc2_weight_decay``
    (2.5e-3); biases are not decayed (Caffe's usual ``decay_mult: 0`` for biases).
    """
    fc2_weight = [model.fc2.weight]
    other_weights = [
        p for name, p in model.named_parameters() if name.endswith("weight") and not name.startswith("fc2")
    ]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return [
        {"params": other_weights, "weight_decay": weight_decay, "name": "conv+fc1"},
        {"params": fc2_weight, "weight_decay": fc2_weight_decay, "name": "fc2"},
        {"params": biases, "weight_decay": 0.0, "name": "bias"},
    ]

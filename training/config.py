"""Training configuration: one dataclass, every field overridable from the command line.

Defaults are the paper's recipe (PAPER.md 6): SGD with momentum 0.9, batch 64, lr 0.01
divided by 10 at 5k and 18k iterations, 20k iterations, weight decay 5e-4 (2.5e-3 on fc2),
LP loss with k = 20 and lambda = 0.003 over a feature bank of the whole training set, random
90x90 crops and no flips. :data:`PRESETS` names this recipe ("paper") and a CPU-sized one
("cpu") that ``python -m training.train --preset cpu`` starts from.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# CLI names that differ from the field name (``lambda`` is a Python keyword).
CLI_NAMES = {"lambda_": "lambda"}
LOSSES = ("lp", "center", "softmax")
# FERPlus's four ways to train on a crowd's label distribution (Barsoum et al. 2016).
TARGETS = ("majority", "probability", "crossentropy", "multitarget")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run; saved in each checkpoint and in ``RUN/config.json``."""

    data: str = ""  # dataset path (RAF-DB layout, manifest CSV or class folders)
    out: str = "runs/dlpcnn"  # run directory (checkpoints, metrics.jsonl, eval.json, plots)
    subset: str = "basic"  # basic or compound
    loss: str = "lp"  # lp, center or softmax
    target: str = "majority"  # majority, probability, crossentropy or multitarget (training.targets)
    multitarget_threshold: float = 0.3  # multitarget: classes with at least this share of the votes count
    val_fraction: float = 0.1  # stratified, seeded validation split carved from train (0: none)
    lambda_: float = 0.003  # weight of the LP / centre loss
    k: int = 20  # LP neighbours
    neighbours: str = "bank"  # bank (whole training set, the paper's setting) or batch
    center_alpha: float = 0.5  # centre-loss centre update rate
    iters: int = 20000
    batch_size: int = 64
    lr: float = 0.01
    lr_steps: tuple[int, ...] = (5000, 18000)
    lr_gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4  # conv and fc1 weights
    fc2_weight_decay: float = 2.5e-3
    crop: int = 90  # random crops of the 100x100 aligned face, centre crop at test
    flip: bool = False  # horizontal flips: our addition, off in the paper's recipe
    input_mean: float = 0.5  # subtracted from pixel / 255 (0 reproduces the paper's input exactly)
    channels: tuple[int, ...] = (64, 96, 128, 128, 256, 256)
    feature_dim: int = 2000
    seed: int = 0
    device: str = "auto"  # auto, cpu, cuda, cuda:1 ...
    amp: bool = True  # mixed precision (CUDA only)
    threads: int = 0  # CPU threads for torch (0: torch's default)
    log_every: int = 20  # iterations between metrics.jsonl lines
    eval_every: int = 1000  # iterations between validation evaluations (0: only at the end)
    checkpoint_every: int = 1000  # iterations between checkpoints
    eval_batch_size: int = 256
    progress: bool = True  # tqdm bar

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict (a saved config); unknown keys are an error, tuples come back from lists."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")
        converted = {name: tuple(v) if isinstance(v, list) else v for name, v in values.items()}
        return cls(**converted).validated()  # type: ignore[arg-type]

    def validated(self) -> TrainConfig:
        """Raise ``ValueError`` on settings that cannot train."""
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be lp, center or softmax, got {self.loss!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {self.target!r}")
        if not 0.0 < self.multitarget_threshold <= 1.0:
            raise ValueError(f"multitarget_threshold must lie in (0, 1], got {self.multitarget_threshold}")
        if not 0.0 <= self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must lie in [0, 0.5), got {self.val_fraction}")
        if self.neighbours not in ("bank", "batch"):
            raise ValueError(f"neighbours must be bank or batch, got {self.neighbours!r}")
        for name in ("iters", "batch_size", "k", "crop", "feature_dim", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.crop > 100:
            raise ValueError(f"crop must be at most the aligned size 100, got {self.crop}")
        if len(self.channels) != 6:
            raise ValueError(f"channels needs 6 values (one per conv layer), got {len(self.channels)}")
        if self.lr <= 0 or self.lambda_ < 0:
            raise ValueError("lr must be positive and lambda non-negative")
        return self

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")


# "paper": the published recipe (GPU, ~20k iterations). "cpu": the same network narrowed and
# shortened to train in minutes on 2 CPU cores (see docs/training.md, "CPU-sized configuration").
PRESETS: dict[str, TrainConfig] = {
    "paper": TrainConfig(),
    "cpu": TrainConfig(
        channels=(8, 12, 16, 16, 32, 32),
        feature_dim=128,
        batch_size=32,
        iters=3000,
        lr_steps=(2250, 2700),
        eval_every=500,
        checkpoint_every=500,
        log_every=50,
        device="cpu",
        amp=False,
    ),
}


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def add_config_arguments(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """One ``--flag`` per dataclass field (``lambda_`` -> ``--lambda``; ``batch_size`` ->
    ``--batch-size``); defaults are left as ``None`` so only given flags override."""
    for f in fields(cls):
        flag = "--" + CLI_NAMES.get(f.name, f.name).replace("_", "-")
        kind = _field_type(cls, f.name)
        default = f.default
        help_text = f"default: {default!r}"
        if kind is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif typing.get_origin(kind) is tuple:
            (item,) = {a for a in typing.get_args(kind) if a is not Ellipsis}
            parser.add_argument(flag, dest=f.name, type=item, nargs="*", default=None, help=help_text)
        elif isinstance(kind, types.UnionType):
            raise TypeError(f"unsupported config field type {kind} for {f.name}")
        else:
            parser.add_argument(flag, dest=f.name, type=kind, default=None, help=help_text)


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """Apply the flags that were given on top of ``base`` (default: the paper's config)."""
    base = base or TrainConfig()
    changes = {}
    for f in fields(base):
        value = getattr(args, f.name, None)
        if value is not None:
            changes[f.name] = tuple(value) if isinstance(value, list) else value
    return base.replace(**changes).validated()

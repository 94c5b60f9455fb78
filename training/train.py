"""Train DLP-CNN (or the softmax / centre-loss baselines) on an aligned face set.

    python -m training.train --data PATH --loss lp|center|softmax --out RUN
        [--target majority|probability|crossentropy|multitarget] [--preset paper|cpu]
        [--seeds 0 1 2] [--iters N --batch-size B --lr LR --lambda L --k K --device cpu|cuda ...
        (one flag per TrainConfig field)] [--fresh]

Only the training split is read: a stratified, seeded validation split (``--val-fraction``,
default 0.1; or the source's own, e.g. FER-2013's PublicTest) is carved from it for the
evaluations during training and for model selection. The test split is read once, by
``python -m training.evaluate``, at the end.

``RUN`` receives ``config.json``, ``metrics.jsonl`` (one JSON object per logged iteration or
validation), ``checkpoint.pt`` (everything needed to continue exactly) and, at the end,
``model.pt`` (weights, config, classes, final validation metrics). With ``--seeds``, one run
per seed goes to ``RUN/seed_<s>/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from training.config import PRESETS, TrainConfig, add_config_arguments, config_from_args
from training.engine import BatchSampler, DeviceData, StepRecord, evaluate, train_iterations
from training.losses import DLPCriterion, build_criterion
from training.model import BaseDCNN, parameter_groups

if TYPE_CHECKING:
    from training.datasets import FaceSet


CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
METRICS = "metrics.jsonl"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but CUDA is not available")
    return device


def data_version(dataset: FaceSet) -> str:
    """A short content hash of names, labels, splits and distributions of the images a model was
    trained and selected on (pass the training and validation images)."""
    digest = hashlib.sha256()
    for name, label, split in zip(dataset.names.tolist(), dataset.labels.tolist(), dataset.split.tolist(), strict=True):
        digest.update(f"{name}\t{label}\t{split}\n".encode())
    if dataset.distributions is not None:
        digest.update(np.ascontiguousarray(dataset.distributions, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


def training_and_validation(dataset: FaceSet, config: TrainConfig) -> tuple[FaceSet, FaceSet | None]:
    """The images a run learns from and the ones it is selected on; the test split is never read.

    A source's own validation split (``split == "val"``) is used when there is one; otherwise a
    stratified, seeded ``config.val_fraction`` of the training split is held out.
    """
    from training.datasets import validation_split

    if not (dataset.split == "train").any():
        raise ValueError(f"the dataset at {config.data or '(in memory)'} has no training images")
    train_set = dataset.where("train")
    if (dataset.split == "val").any():
        return train_set, dataset.where("val")
    return validation_split(train_set, config.val_fraction, config.seed)


def build_model(config: TrainConfig, n_classes: int) -> BaseDCNN:
    return BaseDCNN(
        n_classes,
        channels=config.channels,
        feature_dim=config.feature_dim,
        input_size=config.crop,
        input_mean=config.input_mean,
    )


def build_optimizer(config: TrainConfig, model: BaseDCNN) -> torch.optim.SGD:
    groups = parameter_groups(model, weight_decay=config.weight_decay, fc2_weight_decay=config.fc2_weight_decay)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)


def build_criterion_for(config: TrainConfig, train_labels: torch.Tensor, n_classes: int) -> DLPCriterion:
    return build_criterion(
        config.loss,
        lambda_=config.lambda_,
        k=config.k,
        neighbours=config.neighbours,  # type: ignore[arg-type]
        train_labels=train_labels,
        n_classes=n_classes,
        dim=config.feature_dim,
        center_alpha=config.center_alpha,
        target=config.target,
        multitarget_threshold=config.multitarget_threshold,
    )


def rng_states() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_atomically(obj: Any, path: Path) -> None:
    """Write to a temporary file and rename, so a kill mid-write never leaves a torn checkpoint."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint or model file written by :func:`train` (``RUN`` directories are accepted)."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL if (path / MODEL).exists() else path / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint or model at {path}")
    # Our own files hold numpy RNG state and config dicts, so full unpickling is needed.
    return torch.load(path, map_location=map_location, weights_only=False)


def model_from_checkpoint(checkpoint: dict[str, Any], device: torch.device | str = "cpu") -> BaseDCNN:
    config = TrainConfig.from_dict(checkpoint["config"])
    model = build_model(config, len(checkpoint["classes"]))
    model.load_state_dict(checkpoint["model"])
    return model.to(device).eval()


def _truncate_metrics(path: Path, iteration: int) -> None:
    """Drop log lines past ``iteration`` (written after the checkpoint a resume starts from)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["iteration"] <= iteration]
    path.write_text("".join(line + "\n" for line in kept))


@dataclass
class TrainResult:
    run_dir: Path
    iterations: int
    metrics: dict[str, float]  # final validation metrics of the softmax head (empty without validation)


def train(
    config: TrainConfig,
    dataset: FaceSet | None = None,
    *,
    resume: bool = True,
    stop_at: int | None = None,
    on_log: Callable[[StepRecord, int], None] | None = None,
    on_checkpoint: Callable[[Path, int], None] | None = None,
    extra: dict[str, Any] | None = None,
) -> TrainResult:
    """Train per ``config``; continue from ``RUN/checkpoint.pt`` when ``resume`` and it exists.

    ``dataset`` defaults to ``load_dataset(config.data, subset=config.subset)``. ``stop_at``
    stops early (after saving a checkpoint) to simulate an interruption. ``on_log(record, total)``
    is called at every log line (the platform's progress and cancellation hook) and
    ``on_checkpoint(path, iteration)`` after every checkpoint. ``extra`` is stored in the
    checkpoints and model file (e.g. the reliability run a platform model came from).
    """
    from tqdm import tqdm

    config = config.validated()
    if dataset is None:
        from training.datasets import load_dataset

        # Only the training (and a source's validation) split is read: the test split stays unread.
        dataset = load_dataset(config.data, subset=config.subset, require_splits=("train",), splits=("train", "val"))
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    classes = tuple(dataset.classes)
    n_classes = len(classes)
    train_set, val_set = training_and_validation(dataset, config)
    if config.target != "majority" and train_set.distributions is None:
        raise ValueError(
            f"--target {config.target} trains on the crowd's distributions, and this dataset has none "
            "(RAF-DB's distribution_basic.txt, p_<class> manifest columns or FERPlus votes)"
        )
    seed_everything(config.seed)
    train_data = DeviceData.from_arrays(train_set.images, train_set.labels, device, train_set.distributions)
    # A run without a validation split still trains (evaluations are skipped).
    val_data = (
        DeviceData.from_arrays(val_set.images, val_set.labels, device, val_set.distributions)
        if val_set is not None
        else DeviceData.from_arrays(np.zeros((0, 100, 100), np.uint8), np.zeros(0, np.int64), device)
    )
    model = build_model(config, n_classes).to(device)
    optimizer = build_optimizer(config, model)
    criterion = build_criterion_for(config, train_data.labels, n_classes).to(device)
    amp = config.amp and device.type == "cuda"
    use_scaler = amp and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    from training.datasets import concatenate

    version = data_version(train_set if val_set is None else concatenate(train_set, val_set))
    start = 0
    checkpoint_path = run_dir / CHECKPOINT
    metrics_path = run_dir / METRICS
    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, map_location=device)
        saved = TrainConfig.from_dict(state["config"])
        # Where the data, run and device live may change between sessions; the recipe may not.
        relocatable = {"data": config.data, "out": config.out, "device": config.device, "threads": config.threads,
                       "progress": config.progress}  # fmt: skip
        if saved.replace(**relocatable) != config:
            raise ValueError(f"{checkpoint_path} was written with a different config; use a new --out or --fresh")
        if state["data_version"] != version:
            raise ValueError(f"{checkpoint_path} was trained on different data (version {state['data_version']})")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        criterion.load_state_dict(state["criterion"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        set_rng_states(state["rng"])
        start = int(state["iteration"])
        _truncate_metrics(metrics_path, start)
    elif metrics_path.exists():
        metrics_path.unlink()
    config.save(run_dir / "config.json")
    sampler = BatchSampler(len(train_data), config.batch_size, config.seed)

    def checkpoint(iteration: int) -> None:
        save_atomically(
            {
                "config": config.to_dict(),
                "iteration": iteration,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "criterion": criterion.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": rng_states(),
                "classes": list(classes),
                "data_version": version,
                "extra": extra or {},
            },
            checkpoint_path,
        )
        if on_checkpoint is not None:
            on_checkpoint(checkpoint_path, iteration)

    def log(entry: dict[str, Any]) -> None:
        with metrics_path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")

    def run_evaluation(iteration: int) -> dict[str, float]:
        if not len(val_data):
            return {}
        result = evaluate(model, val_data, crop=config.crop, n_classes=n_classes, batch_size=config.eval_batch_size)
        log({"iteration": iteration, "split": "val", **result})
        model.train()
        return result

    stop = min(config.iters, stop_at) if stop_at is not None else config.iters
    bar = tqdm(total=config.iters, initial=start, disable=not config.progress, desc=f"{config.loss} {run_dir.name}")
    records = train_iterations(
        model, criterion, optimizer, train_data, sampler, start=start, stop=stop, crop=config.crop,
        flip=config.flip, lr=config.lr, lr_steps=config.lr_steps, lr_gamma=config.lr_gamma, amp=amp,
        scaler=scaler, log_every=config.log_every,
    )  # fmt: skip
    last = start
    for record in records:
        bar.update(record.iteration - last)
        bar.set_postfix(loss=f"{record.loss:.3f}", acc=f"{record.accuracy:.2f}", lr=f"{record.lr:g}")
        steps = record.iteration - last
        last = record.iteration
        log({"split": "train", **record.__dict__, "it_per_s": steps / max(record.seconds, 1e-9)})
        if on_log is not None:
            on_log(record, config.iters)
        if config.eval_every and record.iteration % config.eval_every == 0 and record.iteration < config.iters:
            run_evaluation(record.iteration)
        if record.iteration % config.checkpoint_every == 0 or record.iteration == stop:
            checkpoint(record.iteration)
    bar.close()
    if stop < config.iters:
        return TrainResult(run_dir, stop, {})
    final = run_evaluation(config.iters) if len(val_data) else {}
    save_atomically(
        {
            "config": config.to_dict(),
            "model": model.state_dict(),
            "classes": list(classes),
            "data_version": version,
            "iteration": config.iters,
            "metrics": final,
            "extra": extra or {},
        },
        run_dir / MODEL,
    )
    return TrainResult(run_dir, config.iters, final)


def seed_runs(config: TrainConfig, seeds: list[int]) -> list[TrainConfig]:
    """One config per seed, writing to ``<out>/seed_<s>`` (what ``training.evaluate`` averages)."""
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds lists a seed twice: {seeds}")
    return [config.replace(seed=seed, out=str(Path(config.out) / f"seed_{seed}")) for seed in seeds]


def main(argv: list[str] | None = None) -> int:
    from training.datasets import load_dataset

    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    add_config_arguments(parser)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="paper", help="recipe the flags override")
    parser.add_argument("--seeds", type=int, nargs="+", help="train one run per seed into OUT/seed_<s>")
    parser.add_argument("--no-contempt", action="store_true", help="FERPlus / CK+: leave contempt out")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in --out and start over")
    parser.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt (the default)")
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args, PRESETS[args.preset])
        if not config.data:
            parser.error("--data is required")
        configs = seed_runs(config, args.seeds) if args.seeds else [config]
        # Only the training (and a source's validation) split is loaded: the test split stays unread.
        dataset = load_dataset(
            config.data, subset=config.subset, require_splits=("train",), splits=("train", "val"),
            contempt=not args.no_contempt,
        )  # fmt: skip
        for one in configs:
            result = train(one, dataset, resume=not args.fresh)
            print(json.dumps({"run": str(result.run_dir), "iterations": result.iterations, **result.metrics}))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training speed of baseDCNN at batch 64, 90x90 crops: softmax, centre, LP (batch) and LP (bank).

    nice -n 10 python bench/train_speed.py [--device cpu|cuda] [--iters 2] [--rounds 3] [--bank 12271] [--threads 1]

The bank holds one 2000-d feature per training image (12,271 as in RAF-DB basic's training
split, labels drawn with RAF-DB's class frequencies) and is fully written before timing, so
every LP query searches the whole class slice. Losses are timed in interleaved rounds and the
median seconds per iteration is reported (the machine is shared). Also times the LP bank search
alone (no network). Last line: one JSON object with ``softmax_it_s``, ``center_it_s``,
``lp_batch_it_s``, ``lp_bank_it_s`` and ``lp_overhead`` (bank LP time per iteration / softmax
time per iteration - 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.config import TrainConfig  # noqa: E402
from training.engine import BatchSampler, DeviceData, train_iterations  # noqa: E402
from training.train import build_criterion_for, build_model, build_optimizer, resolve_device  # noqa: E402

# RAF-DB basic training split per class (surprise, fear, disgust, happiness, sadness, anger, neutral).
RAF_TRAIN_COUNTS = np.array([1290, 281, 717, 4772, 1982, 705, 2524])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--iters", type=int, default=2, help="timed iterations per loss per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--bank", type=int, default=int(RAF_TRAIN_COUNTS.sum()))
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch CPU threads; 1 by default: on a shared, loaded 2-core machine a second thread "
        "spin-waits and made training ~10x slower (measured)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    rng = np.random.default_rng(0)
    labels = rng.choice(7, size=args.bank, p=RAF_TRAIN_COUNTS / RAF_TRAIN_COUNTS.sum())
    images = rng.integers(0, 256, (args.bank, 100, 100), dtype=np.uint8)
    data = DeviceData.from_arrays(images, labels, device)
    variants = {
        "softmax": TrainConfig(loss="softmax"),
        "center": TrainConfig(loss="center"),
        "lp_batch": TrainConfig(loss="lp", neighbours="batch"),
        "lp_bank": TrainConfig(loss="lp", neighbours="bank"),
    }
    states = {}
    for name, config in variants.items():
        config = config.replace(batch_size=args.batch_size, amp=args.amp)
        torch.manual_seed(0)
        model = build_model(config, 7).to(device)
        criterion = build_criterion_for(config, data.labels, 7).to(device)
        if criterion.auxiliary is not None and getattr(criterion.auxiliary, "bank", None) is not None:
            bank = criterion.auxiliary.bank
            bank.update(
                torch.rand(args.bank, config.feature_dim, device=device), torch.arange(args.bank, device=device)
            )
        states[name] = (config, model, criterion, build_optimizer(config, model))
    sampler = BatchSampler(len(data), args.batch_size, 0)
    amp = args.amp and device.type == "cuda"
    per_iteration: dict[str, list[float]] = {name: [] for name in variants}
    position = {name: 0 for name in variants}

    def run(name: str, n: int) -> float:
        config, model, criterion, optimizer = states[name]
        synchronize(device)
        tic = time.perf_counter()
        for _ in train_iterations(
            model, criterion, optimizer, data, sampler, start=position[name], stop=position[name] + n,
            crop=90, flip=True, lr=0.001, lr_steps=(), lr_gamma=0.1, amp=amp, scaler=None, log_every=n,
        ):  # fmt: skip
            pass
        synchronize(device)
        position[name] += n
        return (time.perf_counter() - tic) / n

    for name in variants:  # warm-up (allocator, oneDNN/cuDNN kernel choice)
        run(name, 1)
    for _ in range(args.rounds):
        for name in variants:
            per_iteration[name].append(run(name, args.iters))
    seconds = {name: statistics.median(times) for name, times in per_iteration.items()}

    # The LP bank search alone: a batch of 64 2000-d features against the 12k x 2000 bank.
    lp = states["lp_bank"][2].auxiliary
    features = torch.rand(args.batch_size, 2000, device=device)
    batch_labels = data.labels[: args.batch_size]
    batch_index = torch.arange(args.batch_size, device=device)
    for _ in range(3):
        lp(features, batch_labels, batch_index)
    synchronize(device)
    tic = time.perf_counter()
    repeats = 20
    for _ in range(repeats):
        lp(features, batch_labels, batch_index)
        lp.update(features, batch_labels, batch_index)
    synchronize(device)
    search_ms = (time.perf_counter() - tic) / repeats * 1000

    for name in variants:
        times = ", ".join(f"{t:.3f}" for t in per_iteration[name])
        print(f"{name:9s} {1 / seconds[name]:7.3f} it/s  (s/iteration per round: {times})")
    print(f"LP bank search + update alone: {search_ms:.2f} ms per iteration")
    result = {
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "bank": args.bank,
        "amp": amp,
        "softmax_it_s": round(1 / seconds["softmax"], 4),
        "center_it_s": round(1 / seconds["center"], 4),
        "lp_batch_it_s": round(1 / seconds["lp_batch"], 4),
        "lp_bank_it_s": round(1 / seconds["lp_bank"], 4),
        "lp_overhead": round(seconds["lp_bank"] / seconds["softmax"] - 1, 4),
        "center_overhead": round(seconds["center"] / seconds["softmax"] - 1, 4),
        "lp_bank_search_ms": round(search_ms, 3),
        # The search + bank update alone over a softmax iteration: the same overhead measured
        # without the run-to-run noise of whole iterations on a shared machine.
        "lp_search_overhead": round(search_ms / 1000 / seconds["softmax"], 4),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

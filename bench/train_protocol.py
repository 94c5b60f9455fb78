"""The softmax / centre / LP comparison of PAPER.md 6 on the synthetic expression set.

    nice -n 10 python bench/train_protocol.py [--full] [--images 840] [--iters 240] [--out DIR]

``--full`` runs the paper's recipe (baseDCNN 64..256 channels, 2000-d features, batch 64,
20k iterations, lr 0.01 x0.1 at 5k and 18k) and needs a GPU. Without it a reduced schedule
that fits a shared 2-core CPU is used: channels 8,12,16,16,32,32, 128-d features, batch 32,
``--iters`` iterations with the lr dropped at 75% and 90% of them (dropping at the paper's 25%
point, 5k of 20k, stops so short a run on the majority-class plateau; measured),
k = 20, lambda = 0.003 for LP and centre loss, seed 0. Each run is evaluated with
:mod:`training.evaluate` (softmax head, deep features + linear SVM, LDA). Prints a Markdown
table and, last, one JSON object with mean diagonal and accuracy per loss and method.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.config import TrainConfig  # noqa: E402
from training.datasets import load_dataset  # noqa: E402
from training.evaluate import evaluate_run  # noqa: E402
from training.synthetic import generate_subset  # noqa: E402
from training.train import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the paper's full recipe (GPU)")
    parser.add_argument("--images", type=int, default=840, help="synthetic basic-set size")
    parser.add_argument("--iters", type=int, default=240, help="iterations of the reduced schedule")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (reduced schedule)")
    parser.add_argument("--out", type=Path, default=Path("runs/protocol"))
    args = parser.parse_args()
    data = args.out / f"synthetic_{args.images}"
    if not (data / "basic").exists():
        generate_subset(data, subset="basic", n_images=args.images, seed=args.seed, progress=False)
    dataset = load_dataset(data, subset="basic")
    if args.full:
        base = TrainConfig(device=args.device, seed=args.seed, progress=False)
    else:
        iters = args.iters
        base = TrainConfig(
            iters=iters, batch_size=32, lr_steps=(iters * 3 // 4, iters * 9 // 10), channels=(8, 12, 16, 16, 32, 32),
            feature_dim=128, eval_every=max(iters // 4, 1), checkpoint_every=iters, log_every=max(iters // 40, 1),
            device=args.device, seed=args.seed, progress=False, threads=args.threads,
        )  # fmt: skip
    rows, result = [], {"schedule": "full" if args.full else "reduced", "images": args.images, "iters": base.iters}
    for loss in ("softmax", "center", "lp"):
        config = base.replace(loss=loss, out=str(args.out / loss))
        tic = time.perf_counter()
        train(config, dataset, resume=False)
        seconds = time.perf_counter() - tic
        evaluation = evaluate_run(config.out, dataset, device=args.device)
        for method in ("softmax", "svm", "lda"):
            report = evaluation["basic"][method]
            result[f"{loss}_{method}_mean_diagonal"] = round(100 * report["mean_diagonal"], 2)
            result[f"{loss}_{method}_accuracy"] = round(100 * report["accuracy"], 2)
            rows.append(f"| {loss} | {method} | {100 * report['mean_diagonal']:.2f} | {100 * report['accuracy']:.2f} |")
        result[f"{loss}_train_seconds"] = round(seconds, 1)
    print("| loss | classifier | mean diagonal % | accuracy % |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

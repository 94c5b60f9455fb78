"""Baselines at RAF-DB scale: the synthetic generator, then 4 features x 2 classifiers.

    nice -n 10 .venv/bin/python bench/baselines_scale.py [--images 15339] [--data DIR] [--out DIR]

Prints progress, the Markdown table, and on its last line one JSON object: per feature x
classifier mean_diagonal / accuracy, seconds per feature (extraction + fits), generation and
loading seconds, a raw-pixel linear SVM (how hard the synthetic set is for a linear model), the
total seconds and the peak resident memory (this process and, separately, its largest worker).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.multiclass import OneVsOneClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from training.baselines import BaselineConfig, run_baselines  # noqa: E402
from training.datasets import load_dataset  # noqa: E402
from training.metrics import mean_diagonal  # noqa: E402
from training.synthetic import generate_subset  # noqa: E402


def cpu_seconds() -> float:
    """CPU seconds of this process, its finished children and its live children (joblib's
    reusable workers stay alive, so /proc is read for them; Linux only)."""
    own = os.times()
    total = own.user + own.system + own.children_user + own.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def raw_pixel_svm(faces, seed: int) -> dict[str, float]:
    """Linear one-vs-one SVM on raw 50x50 pixels (fixed C, balanced): the hardness check."""
    train, test = faces.where("train"), faces.where("test")

    def pixels(images: np.ndarray) -> np.ndarray:
        return (
            np.stack([cv2.resize(im, (50, 50), interpolation=cv2.INTER_AREA) for im in images])
            .reshape(len(images), -1)
            .astype(np.float32)
        )

    started = time.perf_counter()
    model = make_pipeline(
        StandardScaler(), OneVsOneClassifier(LinearSVC(C=0.001, class_weight="balanced", random_state=seed))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(pixels(train.images), train.labels)
    predictions = model.predict(pixels(test.images))
    return {
        "mean_diagonal": round(mean_diagonal(test.labels, predictions, len(faces.classes)), 4),
        "accuracy": round(float(np.mean(predictions == test.labels)), 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=15339)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="an existing synthetic set (skips generation)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    # Cheapest first, so that a run cut short still has its first rows.
    parser.add_argument("--features", default="shape,hog,lbp,gabor")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="raf-baselines-"))
    out = args.out or work / "report"
    total_started = time.perf_counter()
    figures: dict[str, object] = {"images": args.images, "jobs": args.jobs}

    started = time.perf_counter()
    data = args.data
    if data is None:
        data = work / "synthetic"
        generate_subset(data, subset="basic", n_images=args.images, seed=args.seed, n_jobs=args.jobs)
        figures["generate_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    faces = load_dataset(data)
    figures["load_seconds"] = round(time.perf_counter() - started, 1)
    figures["images"] = len(faces)

    config = BaselineConfig(features=tuple(args.features.split(",")), n_jobs=args.jobs, seed=args.seed)
    cpu_per_feature: dict[str, float] = {}
    cpu_mark = [cpu_seconds()]

    def on_feature(feature: str, metrics: dict) -> None:
        now = cpu_seconds()
        cpu_per_feature[feature] = round(now - cpu_mark[0], 1)
        cpu_mark[0] = now
        row = {c: round(r["mean_diagonal"], 4) for c, r in metrics["results"][feature].items()}
        print(json.dumps({"feature": feature, "mean_diagonal": row, "seconds": metrics["features"][feature]
                          ["total_seconds"], "cpu_seconds": cpu_per_feature[feature]}), flush=True)  # fmt: skip

    metrics = run_baselines(faces, out, config, on_feature=on_feature)
    print((out / "results.md").read_text())
    figures["results"] = {
        feature: {
            c: {"mean_diagonal": round(r["mean_diagonal"], 4), "accuracy": round(r["accuracy"], 4),
                "fit_predict_seconds": r["fit_predict_seconds"]} | ({"C": r["C"]} if "C" in r else {})
            for c, r in per_feature.items()
        }
        for feature, per_feature in metrics["results"].items()
    }  # fmt: skip
    figures["seconds_per_feature"] = {f: info["total_seconds"] for f, info in metrics["features"].items()}
    figures["cpu_seconds_per_feature"] = cpu_per_feature
    figures["extract_seconds"] = {f: info["extract_seconds"] for f, info in metrics["features"].items()}
    figures["baselines_seconds"] = round(sum(figures["seconds_per_feature"].values()), 1)  # type: ignore[arg-type]
    figures["random_mean_diagonal"] = round(metrics["random"]["mean_diagonal"], 4)
    figures["raw_pixels_linear_svm"] = raw_pixel_svm(faces, args.seed)
    figures["total_seconds"] = round(time.perf_counter() - total_started, 1)
    figures["total_cpu_seconds"] = round(cpu_seconds(), 1)
    figures["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    # Stop joblib's reusable workers so that their peak memory is counted in RUSAGE_CHILDREN.
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["peak_rss_worker_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    figures["report_dir"] = str(out)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

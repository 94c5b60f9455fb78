"""Figures of one or more runs (matplotlib, Agg).

    python -m training.figures RUN [RUN...] [--out DIR] [--embedding tsne|pca]

- ``curves.png``: training loss (total and softmax part), auxiliary loss and validation mean diagonal
  against iterations, one line per run;
- ``embedding_<run>.png``: 2-D embedding of test deep features coloured by class (paper
  Fig. 9), from ``RUN/features_basic_test.npz`` written by :mod:`training.evaluate`;
- ``sweep_lambda.png`` / ``sweep_k.png``: mean diagonal against lambda (runs sharing k) and
  against k (runs sharing lambda) for LP runs (paper Fig. 8);
- ``convergence.png``: LP against centre loss, softmax loss and validation mean diagonal per
  iteration (paper Fig. 10).
``DIR`` defaults to the run itself for one run, else ``figures/`` beside the first run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_log(run: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train and test lines of ``RUN/metrics.jsonl``."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in lines if r.get("split") == "train"], [r for r in lines if r.get("split") in ("val", "test")]


def run_config(run: Path) -> dict[str, Any]:
    return json.loads((run / "config.json").read_text())


def run_score(run: Path) -> float | None:
    """The run's headline: the test split's basic SVM mean diagonal from eval.json (a figure to
    report), else the last validation evaluation (the one to choose settings by)."""
    if (run / "eval.json").exists():
        svm = json.loads((run / "eval.json").read_text()).get("basic", {}).get("svm")
        if svm is not None:
            return float(svm["mean_diagonal"])
    _, validation = read_log(run)
    return float(validation[-1]["mean_diagonal"]) if validation else None


def label_of(run: Path) -> str:
    config = run_config(run)
    if config["loss"] == "lp":
        return f"{run.name} (LP k={config['k']}, lambda={config['lambda_']:g})"
    if config["loss"] == "center":
        return f"{run.name} (centre, lambda={config['lambda_']:g})"
    return f"{run.name} (softmax)"


def plot_curves(runs: list[Path], path: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for run in runs:
        train, test = read_log(run)
        iterations = [r["iteration"] for r in train]
        label = label_of(run)
        (line,) = axes[0].plot(iterations, [r["loss"] for r in train], label=label)
        axes[0].plot(iterations, [r["softmax"] for r in train], ls="--", color=line.get_color(), lw=0.8)
        if run_config(run)["loss"] != "softmax":  # softmax runs have no auxiliary loss
            axes[1].plot(iterations, [r["auxiliary"] for r in train], color=line.get_color(), label=label)
        if test:
            axes[2].plot([r["iteration"] for r in test], [100 * r["mean_diagonal"] for r in test], "o-", label=label)
    axes[0].set(title="training loss (dashed: softmax part)", xlabel="iteration")
    axes[1].set(title="auxiliary loss (LP / centre)", xlabel="iteration", yscale="log")
    axes[2].set(title="validation mean diagonal (%), softmax head", xlabel="iteration")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def embed_2d(features: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """``(N, D)`` -> ``(N, 2)``: PCA, or t-SNE after a 50-d PCA."""
    from sklearn.decomposition import PCA

    if method == "pca" or len(features) < 10:
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    from sklearn.manifold import TSNE

    reduced = PCA(n_components=min(50, features.shape[1], len(features)), random_state=seed).fit_transform(features)
    perplexity = min(30.0, (len(features) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)


def plot_embedding(run: Path, path: Path, *, method: str = "tsne", max_points: int = 3000) -> Path | None:
    source = run / "features_basic_test.npz"
    if not source.exists():
        return None
    data = np.load(source, allow_pickle=False)
    features, labels, classes = data["features"], data["labels"], [str(c) for c in data["classes"]]
    if len(features) > max_points:  # t-SNE is quadratic; a fixed random subset keeps it quick
        keep = np.random.default_rng(0).choice(len(features), max_points, replace=False)
        features, labels = features[keep], labels[keep]
    points = embed_2d(features, method)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for index, name in enumerate(classes):
        mask = labels == index
        ax.scatter(points[mask, 0], points[mask, 1], s=5, label=name, alpha=0.7)
    ax.set(title=f"{label_of(run)}\n{method.upper()} of test deep features", xticks=[], yticks=[])
    ax.legend(markerscale=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweeps(runs: list[Path], out: Path) -> list[Path]:
    """Mean diagonal vs lambda (runs sharing k) and vs k (runs sharing lambda), LP runs only."""
    plt = _plt()
    scored = [(run_config(r), run_score(r)) for r in runs]
    lp = [(c, s) for c, s in scored if c["loss"] == "lp" and s is not None]
    written = []
    for swept, fixed, name in (("lambda_", "k", "lambda"), ("k", "lambda_", "k")):
        groups: dict[Any, list[tuple[float, float]]] = defaultdict(list)
        for config, score in lp:
            groups[config[fixed]].append((config[swept], score))
        groups = {key: sorted(values) for key, values in groups.items() if len({v for v, _ in values}) > 1}
        if not groups:
            continue
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for key, values in groups.items():
            ax.plot([v for v, _ in values], [100 * s for _, s in values], "o-", label=f"{fixed.rstrip('_')}={key:g}")
        ax.set(xlabel=name, ylabel="mean diagonal (%)", title=f"LP loss: accuracy vs {name}")
        if swept == "lambda_":
            ax.set_xscale("log")
        ax.legend()
        fig.tight_layout()
        path = out / f"sweep_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def plot_convergence(runs: list[Path], path: Path) -> Path | None:
    """Softmax loss and validation mean diagonal of LP and centre-loss runs (and softmax) per iteration."""
    chosen = [r for r in runs if run_config(r)["loss"] in ("lp", "center", "softmax")]
    if not {"lp", "center"} <= {run_config(r)["loss"] for r in chosen}:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for run in chosen:
        train, test = read_log(run)
        label = label_of(run)
        axes[0].plot([r["iteration"] for r in train], [r["softmax"] for r in train], label=label)
        if test:
            axes[1].plot([r["iteration"] for r in test], [100 * r["mean_diagonal"] for r in test], "o-", label=label)
    axes[0].set(title="softmax loss on training batches", xlabel="iteration", yscale="log")
    axes[1].set(title="validation mean diagonal (%)", xlabel="iteration")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def make_figures(runs: list[Path], out: Path, *, embedding: str = "tsne") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_curves(runs, out / "curves.png")]
    for run in runs:
        written.append(plot_embedding(run, out / f"embedding_{run.name}.png", method=embedding))  # type: ignore[arg-type]
    written += plot_sweeps(runs, out)
    written.append(plot_convergence(runs, out / "convergence.png"))  # type: ignore[arg-type]
    return [p for p in written if p is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--embedding", choices=("tsne", "pca"), default="tsne")
    args = parser.parse_args(argv)
    missing = [str(r) for r in args.runs if not (r / "metrics.jsonl").exists()]
    if missing:
        print(f"error: not a training run (no metrics.jsonl): {', '.join(missing)}", file=sys.stderr)
        return 2
    out = args.out or (args.runs[0] if len(args.runs) == 1 else args.runs[0].parent / "figures")
    written = make_figures(args.runs, out, embedding=args.embedding)
    print(json.dumps({"figures": [str(p) for p in written]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

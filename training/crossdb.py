"""The paper's cross-database study (PAPER.md 5, Fig. 6): HOG + RBF SVM trained on one database
and tested on another, in both directions, on the classes present in both.

``python -m training.crossdb --train A --test B --out DIR`` reads both datasets (any format of
:func:`training.datasets.load_dataset`), keeps the classes that have images in both, and for
each direction (A -> B, then B -> A) trains on the whole source database (both splits: the other
database is the test set) and tests on the whole target database. ``C`` and ``gamma`` of the
RBF SVM (scikit-learn ``SVC``, one-vs-one by construction) are chosen by stratified k-fold
cross-validation on the source only, scored by the mean diagonal; ``gamma`` is searched as
multiples of ``1 / n_features`` (scikit-learn's "scale" for standardised features). RBF SVM
training grows quadratically, so the source is capped at ``--max-train`` images (stratified
sample) and the search at ``--cv-max``.

Writes ``DIR/metrics.json``, ``DIR/results.md`` and the two confusion matrices
``DIR/confusion_forward.png`` (train A, test B) and ``DIR/confusion_reverse.png`` (+ CSVs).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from training.baselines import cv_sample, fold_count
from training.datasets import DatasetError, FaceSet, load_dataset
from training.features import extract
from training.metrics import evaluation_report, plot_confusion, write_confusion_csv

DEFAULT_C_GRID = (1.0, 10.0, 100.0)
DEFAULT_GAMMA_GRID = (0.5, 1.0, 2.0)  # x 1 / n_features


def common_classes(first: FaceSet, second: FaceSet) -> tuple[str, ...]:
    """Classes (by name, in ``first``'s order) with at least one image in both sets."""
    counts_first, counts_second = first.class_counts(), second.class_counts()
    present_second = {name for name, n in zip(second.classes, counts_second, strict=True) if n > 0}
    return tuple(name for name, n in zip(first.classes, counts_first, strict=True) if n > 0 and name in present_second)


def restrict(faces: FaceSet, classes: Sequence[str]) -> FaceSet:
    """The faces of ``classes`` only, labels renumbered to ``classes``' order."""
    names = [faces.classes[label] for label in faces.labels]
    keep = np.array([name in classes for name in names])
    kept = faces.select(keep)
    lookup = {name: i for i, name in enumerate(classes)}
    labels = np.array([lookup[faces.classes[label]] for label in kept.labels], dtype=np.int64)
    return replace(kept, labels=labels, classes=tuple(classes), distributions=None)


def fit_rbf_svm(
    x: np.ndarray,
    y: np.ndarray,
    *,
    c_grid: Sequence[float],
    gamma_grid: Sequence[float],
    cv_folds: int,
    cv_max: int,
    n_jobs: int,
    seed: int,
) -> tuple[Pipeline, dict[str, Any]]:
    """Standardise -> RBF SVC with (C, gamma) chosen by CV mean diagonal on the source only."""
    gammas = [g / x.shape[1] for g in gamma_grid]
    x_cv, y_cv = cv_sample(x, y, cv_max, seed)
    model = Pipeline([("normalise", StandardScaler()), ("svm", SVC(kernel="rbf", class_weight="balanced"))])
    search = GridSearchCV(
        model,
        {"svm__C": list(c_grid), "svm__gamma": gammas},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(fold_count(y_cv, cv_folds), shuffle=True, random_state=seed),
        n_jobs=n_jobs,
        refit=False,
    )
    search.fit(x_cv, y_cv)
    best = search.best_params_
    model.set_params(**best)
    model.fit(x, y)
    details = {
        "C": float(best["svm__C"]),
        "gamma": float(best["svm__gamma"]),
        "gamma_times_n_features": float(best["svm__gamma"] * x.shape[1]),
        "cv_mean_diagonal": float(search.best_score_),
        "cv_images": int(x_cv.shape[0]),
    }
    return model, details


def sample_index(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of a stratified sample of at most ``limit`` of ``labels``."""
    if labels.shape[0] <= limit:
        return np.arange(labels.shape[0])
    index, _ = train_test_split(np.arange(labels.shape[0]), train_size=limit, stratify=labels, random_state=seed)
    return np.sort(index)


def run_crossdb(
    first: FaceSet,
    second: FaceSet,
    out: Path,
    *,
    names: tuple[str, str] = ("A", "B"),
    c_grid: Sequence[float] = DEFAULT_C_GRID,
    gamma_grid: Sequence[float] = DEFAULT_GAMMA_GRID,
    cv_folds: int = 3,
    cv_max: int = 2000,
    max_train: int = 6000,
    n_jobs: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Both directions of the study; writes the report files to ``out`` and returns the metrics."""
    classes = common_classes(first, second)
    if len(classes) < 2:
        raise DatasetError(f"the two datasets share {len(classes)} classes with images; at least 2 are needed")
    sets = {names[0]: restrict(first, classes), names[1]: restrict(second, classes)}
    started = time.perf_counter()
    features = {name: extract(faces, "hog", n_jobs=n_jobs, progress=progress) for name, faces in sets.items()}
    metrics: dict[str, Any] = {
        "classes": list(classes),
        "datasets": {
            name: {"images": len(faces), "class_counts": faces.class_counts().tolist()} for name, faces in sets.items()
        },  # fmt: skip
        "protocol": "HOG (4,000-d) -> StandardScaler -> RBF SVC (one-vs-one, balanced class weights); C and gamma "
        "by stratified k-fold CV on the training database scored by the mean diagonal",
        "extract_seconds": round(time.perf_counter() - started, 2),
    }
    out.mkdir(parents=True, exist_ok=True)
    lines = ["| train -> test | mean diag. (%) | accuracy (%) | C | gamma x d |", "|---|---|---|---|---|"]
    for direction, (source, target) in (("forward", names), ("reverse", names[::-1])):
        fit_started = time.perf_counter()
        index = sample_index(sets[source].labels, max_train, seed)
        model, details = fit_rbf_svm(
            features[source][index],
            sets[source].labels[index],
            c_grid=c_grid,
            gamma_grid=gamma_grid,
            cv_folds=cv_folds,
            cv_max=cv_max,
            n_jobs=n_jobs,
            seed=seed,
        )
        predictions = model.predict(features[target])
        report = evaluation_report(sets[target].labels, predictions, classes).to_dict()
        report.update(details, train=source, test=target, n_train=int(index.size))
        report["seconds"] = round(time.perf_counter() - fit_started, 2)
        metrics[direction] = report
        matrix = np.asarray(report["confusion"])
        write_confusion_csv(out / f"confusion_{direction}.csv", matrix, classes)
        title = f"train {source} -> test {target}: mean diagonal {100 * report['mean_diagonal']:.1f}%"
        plot_confusion(out / f"confusion_{direction}.png", matrix, classes, title=title)
        lines.append(
            f"| {source} -> {target} | {100 * report['mean_diagonal']:.2f} | {100 * report['accuracy']:.2f} | "
            f"{details['C']:g} | {details['gamma_times_n_features']:g} |"
        )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "results.md").write_text("\n".join(lines) + f"\n\nClasses in both: {', '.join(classes)}.\n")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.crossdb", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True, help="database A (any load_dataset format)")
    parser.add_argument("--test", type=Path, required=True, help="database B")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--subset", default="basic", choices=("basic", "compound"))
    parser.add_argument("--c-grid", default=",".join(f"{c:g}" for c in DEFAULT_C_GRID))
    parser.add_argument("--gamma-grid", default=",".join(f"{g:g}" for g in DEFAULT_GAMMA_GRID), help="x 1/d")
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--cv-max", type=int, default=2000)
    parser.add_argument("--max-train", type=int, default=6000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    first = load_dataset(args.train, subset=args.subset, require_splits=())
    second = load_dataset(args.test, subset=args.subset, require_splits=())
    names = (args.train.name or "A", args.test.name or "B")
    if names[0] == names[1]:
        names = (f"A:{names[0]}", f"B:{names[1]}")
    run_crossdb(
        first,
        second,
        args.out,
        names=names,
        c_grid=[float(c) for c in args.c_grid.split(",")],
        gamma_grid=[float(g) for g in args.gamma_grid.split(",")],
        cv_folds=args.cv_folds,
        cv_max=args.cv_max,
        max_train=args.max_train,
        n_jobs=args.jobs,
        seed=args.seed,
        progress=not args.quiet,
    )
    print((args.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

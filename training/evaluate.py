"""Evaluate a trained run: the softmax head, and the 2000-d deep features classified by a
linear SVM and by LDA (the paper's deep-feature protocol, PAPER.md 6). This is where the test
split is read, once, at the end.

    python -m training.evaluate RUN --data PATH [--compound PATH] [--device cpu|cuda] [--jobs 2]

Basic: softmax head on the test split (mean diagonal, accuracy, per-class recall and, when the
data carry the crowd's distributions, ``kl``: the mean KL divergence from the human distribution
to the prediction); SVM and LDA fitted on the training split's features. The SVM is the
baselines' classifier (:func:`training.baselines.fit_svm`): linear, one-vs-one voting, C chosen
by stratified cross-validation on the training split scored by the mean diagonal.
Compound (``--compound``): the basic-trained network extracts features of the compound set;
SVM and LDA are fitted on its training split and tested on its test split.

Writes ``RUN/eval.json`` (top level: the softmax head's ``mean_diagonal``, ``accuracy``,
``per_class_recall``, ``kl``; per subset and method: the full reports),
``RUN/confusion_<subset>_<method>.png``/``.csv`` and ``RUN/features_<subset>_test.npz``. When
``RUN`` holds ``seed_<s>/`` runs (``training.train --seeds``), each is evaluated and
``RUN/eval.json`` gives the mean and standard deviation over seeds (``mean_diagonal`` and
``mean_diagonal_std``, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from training.engine import predict
from training.metrics import evaluation_report, mean_kl, plot_confusion, write_confusion_csv
from training.train import load_checkpoint, model_from_checkpoint, resolve_device

if TYPE_CHECKING:
    from training.datasets import FaceSet


def lda() -> Any:
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    # Shrinkage keeps the 2000x2000 within-class covariance invertible with few images per class.
    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")


def extract(model: torch.nn.Module, faces: FaceSet, crop: int, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities ``(N, C)`` and deep features ``(N, D)`` of centre crops."""
    images = torch.as_tensor(np.ascontiguousarray(faces.images))
    return predict(model.to(device), images, crop=crop, batch_size=256, amp=device.type == "cuda")


def _report(run_dir: Path, subset: str, method: str, y_true: np.ndarray, y_pred: np.ndarray, classes: Any) -> dict:
    report = evaluation_report(y_true, y_pred, classes)
    matrix = np.asarray(report.confusion)
    write_confusion_csv(run_dir / f"confusion_{subset}_{method}.csv", matrix, classes)
    plot_confusion(run_dir / f"confusion_{subset}_{method}.png", matrix, classes, title=f"{subset}: {method}")
    return report.to_dict()


def _feature_classifiers(
    run_dir: Path, subset: str, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
    classes: Any, n_jobs: int = 1,
) -> dict[str, Any]:  # fmt: skip
    from training.baselines import BaselineConfig, fit_svm

    config = BaselineConfig(n_jobs=n_jobs, progress=False)
    try:
        svm = fit_svm(train_x, train_y, "deep", config)
    except ValueError as error:
        # Too few training images per class to cross-validate (tiny sets): the grid's middle C,
        # and eval.json says so.
        middle = config.c_grid[len(config.c_grid) // 2]
        svm = fit_svm(train_x, train_y, "deep", replace(config, c_grid=(middle,)))
        svm.details["cv_skipped"] = str(error)
    results = {"svm": {**_report(run_dir, subset, "svm", test_y, svm.model.predict(test_x), classes), **svm.details}}
    classifier = lda()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LDA collinearity warnings on tiny sets
        classifier.fit(train_x, train_y)
    results["lda"] = _report(run_dir, subset, "lda", test_y, classifier.predict(test_x), classes)
    return results


def evaluate_run(
    run: Path | str,
    dataset: FaceSet,
    *,
    compound: FaceSet | None = None,
    device: str = "auto",
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Evaluate ``run`` on ``dataset`` (basic) and optionally ``compound``; writes and returns eval.json."""
    run_dir = Path(run)
    checkpoint = load_checkpoint(run_dir)
    target = resolve_device(device)
    model = model_from_checkpoint(checkpoint, target)
    crop = int(checkpoint["config"]["crop"])
    classes = tuple(checkpoint["classes"])
    if tuple(dataset.classes) != classes:
        raise ValueError(f"the model's classes {classes} differ from the data's {tuple(dataset.classes)}")
    train_set, test_set = dataset.where("train"), dataset.where("test")
    _, train_x = extract(model, train_set, crop, target)
    probabilities, test_x = extract(model, test_set, crop, target)
    np.savez_compressed(run_dir / "features_basic_test.npz", features=test_x, labels=test_set.labels, classes=classes)
    softmax = _report(run_dir, "basic", "softmax", test_set.labels, probabilities.argmax(1), classes)
    if test_set.distributions is not None:
        softmax["kl"] = mean_kl(test_set.distributions, probabilities)
    result: dict[str, Any] = {
        "run": run_dir.name,
        "loss": checkpoint["config"]["loss"],
        "target": checkpoint["config"].get("target", "majority"),
        "mean_diagonal": softmax["mean_diagonal"],
        "accuracy": softmax["accuracy"],
        "per_class_recall": softmax["per_class_recall"],
        "kl": softmax.get("kl"),
        "config": checkpoint["config"],
        "data_version": checkpoint.get("data_version"),
        "basic": {
            "softmax": softmax,
            **_feature_classifiers(
                run_dir, "basic", train_x, train_set.labels, test_x, test_set.labels, classes, n_jobs
            ),
        },
    }
    if compound is not None:
        compound_train, compound_test = compound.where("train"), compound.where("test")
        _, ctrain_x = extract(model, compound_train, crop, target)
        _, ctest_x = extract(model, compound_test, crop, target)
        np.savez_compressed(
            run_dir / "features_compound_test.npz", features=ctest_x, labels=compound_test.labels,
            classes=tuple(compound.classes),
        )  # fmt: skip
        result["compound"] = _feature_classifiers(
            run_dir, "compound", ctrain_x, compound_train.labels, ctest_x, compound_test.labels,
            tuple(compound.classes), n_jobs,
        )  # fmt: skip
    (run_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


SEED_FIGURES = ("mean_diagonal", "accuracy", "kl")


def seed_dirs(run: Path | str) -> list[Path]:
    """The ``seed_<s>/`` runs under ``run`` (written by ``training.train --seeds``), by seed."""
    found = [p for p in Path(run).glob("seed_*") if p.is_dir() and p.name[5:].lstrip("-").isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


def evaluate_seeds(run: Path | str, dataset: FaceSet, **kwargs: Any) -> dict[str, Any]:
    """Evaluate every ``seed_<s>/`` run under ``run``; ``run/eval.json`` holds the mean and the
    standard deviation (``ddof=1``) over seeds of the softmax head's figures and of each
    method's mean diagonal."""
    runs = seed_dirs(run)
    if not runs:
        raise FileNotFoundError(f"no model.pt and no seed_<s>/ runs in {run}")
    results = [evaluate_run(path, dataset, **kwargs) for path in runs]
    aggregate: dict[str, Any] = {"run": Path(run).name, "seeds": [int(p.name[5:]) for p in runs]}
    flat = [{**summary(r), **{k: r[k] for k in SEED_FIGURES}} for r in results]
    for key in flat[0]:
        values = [f[key] for f in flat]
        if any(v is None for v in values):
            aggregate[key] = aggregate[f"{key}_std"] = None
            continue
        aggregate[key] = float(np.mean(values))
        aggregate[f"{key}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    aggregate["per_seed"] = {p.name: f for p, f in zip(runs, flat, strict=True)}
    (Path(run) / "eval.json").write_text(json.dumps(aggregate, indent=2) + "\n")
    return aggregate


def summary(result: dict[str, Any]) -> dict[str, float]:
    """Flat ``{"basic_svm_mean_diagonal": ..., ...}`` of an eval.json, for tables and TrainingRun.metrics."""
    flat = {}
    for subset in ("basic", "compound"):
        for method, report in result.get(subset, {}).items():
            flat[f"{subset}_{method}_mean_diagonal"] = round(report["mean_diagonal"], 4)
            flat[f"{subset}_{method}_accuracy"] = round(report["accuracy"], 4)
            if report.get("kl") is not None:
                flat[f"{subset}_{method}_kl"] = round(report["kl"], 4)
    return flat


def main(argv: list[str] | None = None) -> int:
    from training.datasets import load_dataset

    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="RUN directory written by training.train")
    parser.add_argument("--data", required=True, help="basic dataset (RAF-DB layout, manifest CSV or class folders)")
    parser.add_argument("--compound", help="compound dataset, classified from the basic-trained deep features")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="processes for the SVM's cross-validation")
    parser.add_argument("--no-contempt", action="store_true", help="FERPlus / CK+: leave contempt out")
    args = parser.parse_args(argv)
    try:
        dataset = load_dataset(args.data, subset="basic", contempt=not args.no_contempt)
        compound = load_dataset(args.compound, subset="compound") if args.compound else None
        options = {"compound": compound, "device": args.device, "n_jobs": args.jobs}
        if (Path(args.run) / "model.pt").exists():
            result = evaluate_run(args.run, dataset, **options)
            print(json.dumps({**summary(result), **{k: result[k] for k in SEED_FIGURES}}))
        else:
            print(json.dumps(evaluate_seeds(args.run, dataset, **options)))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

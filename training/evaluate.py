"""Evaluate a trained run: the softmax head, and the 2000-d deep features classified by a
linear SVM and by LDA (the paper's deep-feature protocol, PAPER.md 6).

    python -m training.evaluate RUN --data PATH [--compound PATH] [--device cpu|cuda]

Basic: softmax head on the test split; SVM and LDA fitted on the training split's features.
Compound (``--compound``): the basic-trained network extracts features of the compound set;
SVM and LDA are fitted on its training split and tested on its test split. Writes
``RUN/eval.json`` (mean diagonal, accuracy, per-class recall, confusion per method),
``RUN/confusion_<subset>_<method>.png``/``.csv`` and ``RUN/features_<subset>_test.npz``
(deep features for :mod:`training.figures`).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from training.engine import predict
from training.metrics import evaluation_report, plot_confusion, write_confusion_csv
from training.train import load_checkpoint, model_from_checkpoint, resolve_device

if TYPE_CHECKING:
    from training.datasets import FaceSet


def linear_svm(c: float = 1.0) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=c, max_iter=5000))


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
    classes: Any,
) -> dict[str, Any]:  # fmt: skip
    results = {}
    for method, make in (("svm", linear_svm), ("lda", lda)):
        classifier = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LinearSVC convergence / LDA collinearity warnings on tiny sets
            classifier.fit(train_x, train_y)
        results[method] = _report(run_dir, subset, method, test_y, classifier.predict(test_x), classes)
    return results


def evaluate_run(
    run: Path | str,
    dataset: FaceSet,
    *,
    compound: FaceSet | None = None,
    device: str = "auto",
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
    result: dict[str, Any] = {
        "run": run_dir.name,
        "loss": checkpoint["config"]["loss"],
        "config": checkpoint["config"],
        "data_version": checkpoint.get("data_version"),
        "basic": {
            "softmax": _report(run_dir, "basic", "softmax", test_set.labels, probabilities.argmax(1), classes),
            **_feature_classifiers(run_dir, "basic", train_x, train_set.labels, test_x, test_set.labels, classes),
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
            run_dir, "compound", ctrain_x, compound_train.labels, ctest_x, compound_test.labels, tuple(compound.classes)
        )
    (run_dir / "eval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def summary(result: dict[str, Any]) -> dict[str, float]:
    """Flat ``{"basic_svm_mean_diagonal": ..., ...}`` of an eval.json, for tables and TrainingRun.metrics."""
    flat = {}
    for subset in ("basic", "compound"):
        for method, report in result.get(subset, {}).items():
            flat[f"{subset}_{method}_mean_diagonal"] = round(report["mean_diagonal"], 4)
            flat[f"{subset}_{method}_accuracy"] = round(report["accuracy"], 4)
    return flat


def main(argv: list[str] | None = None) -> int:
    from training.datasets import load_dataset

    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="RUN directory written by training.train")
    parser.add_argument("--data", required=True, help="basic dataset (RAF-DB layout, manifest CSV or class folders)")
    parser.add_argument("--compound", help="compound dataset, classified from the basic-trained deep features")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        dataset = load_dataset(args.data, subset="basic")
        compound = load_dataset(args.compound, subset="compound") if args.compound else None
        result = evaluate_run(args.run, dataset, compound=compound, device=args.device)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

from __future__ import annotations

import json
from pathlib import Path

from tests.training.test_train import TINY
from training.config import TrainConfig
from training.datasets import load_dataset
from training.evaluate import evaluate_run, summary
from training.figures import make_figures
from training.train import train


def test_it_evaluates_basic_and_compound_with_the_softmax_head_svm_and_lda(synthetic_root: Path, tmp_path) -> None:
    basic = load_dataset(synthetic_root, subset="basic")
    compound = load_dataset(synthetic_root, subset="compound")
    train(TrainConfig(loss="lp", k=3, iters=4, out=str(tmp_path), threads=1, **TINY), basic)
    result = evaluate_run(tmp_path, basic, compound=compound, device="cpu")
    assert set(result["basic"]) == {"softmax", "svm", "lda"} and set(result["compound"]) == {"svm", "lda"}
    assert len(result["compound"]["svm"]["confusion"]) == len(compound.classes) == 11
    assert json.loads((tmp_path / "eval.json").read_text())["basic"]["svm"]["n_test"] == (basic.split == "test").sum()
    assert (tmp_path / "confusion_compound_lda.png").exists() and (tmp_path / "confusion_basic_softmax.csv").exists()
    assert 0 <= summary(result)["basic_svm_mean_diagonal"] <= 1
    # The baselines' SVM: one-vs-one, C chosen by cross-validation on the training split.
    assert result["basic"]["svm"]["cv_folds"] >= 2 and result["basic"]["svm"]["C"] in (0.001, 0.01, 0.1)
    assert result["kl"] == result["basic"]["softmax"]["kl"] > 0  # the synthetic set carries distributions
    written = {p.name for p in make_figures([tmp_path], tmp_path / "figures", embedding="pca")}
    assert {"curves.png", f"embedding_{tmp_path.name}.png"} <= written

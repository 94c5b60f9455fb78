from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.baselines import main


def test_it_runs_the_whole_cli_and_writes_the_report(synthetic_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    argv = ["--data", str(synthetic_root), "--features", "hog,lbp,gabor,shape", "--classifiers", "svm,lda"]
    assert main([*argv, "--out", str(out), "--jobs", "1", "--c-grid", "0.01,0.1", "--cv-folds", "2", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["results"]) == {"hog", "lbp", "gabor", "shape"}
    assert metrics["features"]["lbp"]["dimension"] == 5900
    assert metrics["features"]["shape"]["landmarks"] == 37
    for feature, per_feature in metrics["results"].items():
        for classifier in ("svm", "lda"):
            result = per_feature[classifier]
            assert 0.0 <= result["mean_diagonal"] <= 1.0
            assert set(result["per_class_recall"]) == set(metrics["classes"])
            assert (out / f"confusion_{feature}_{classifier}.png").is_file()
            assert (out / f"confusion_{feature}_{classifier}.csv").is_file()
        assert per_feature["svm"]["C"] in (0.01, 0.1)
    # The synthetic expressions are learnable: shape + SVM is well above chance (1/7).
    assert metrics["results"]["shape"]["svm"]["mean_diagonal"] > 0.35
    assert "| hog | 4000 |" in (out / "results.md").read_text()


def test_it_rejects_an_unknown_feature(synthetic_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown feature 'sift'"):
        main(["--data", str(synthetic_root), "--features", "sift", "--out", str(tmp_path), "--quiet"])

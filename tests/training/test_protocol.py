"""The honest protocol: a validation split carved from train, the test split read once, at the end
(by ``training.evaluate``), and mean +- std over seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training import datasets, evaluate, train
from training.datasets import FaceSet, load_dataset, validation_split

TINY_FLAGS = [
    "--channels", "4", "4", "8", "8", "8", "8", "--feature-dim", "16", "--batch-size", "8", "--iters", "4",
    "--lr-steps", "3", "--threads", "1", "--no-progress", "--eval-every", "2", "--checkpoint-every", "2",
    "--log-every", "2", "--k", "3", "--device", "cpu",
]  # fmt: skip


@pytest.fixture
def read_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every image file the readers decode, by name."""
    seen: list[str] = []
    original = datasets._read_grey

    def recording(path: Path) -> np.ndarray:
        seen.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(datasets, "_read_grey", recording)
    return seen


def test_it_carves_a_stratified_seeded_validation_split_from_train(synthetic_root: Path) -> None:
    train_set = load_dataset(synthetic_root).where("train")
    rest, val = validation_split(train_set, 0.2, seed=1)
    assert val is not None and set(val.split) == {"val"}
    assert not set(rest.names) & set(val.names) and len(rest) + len(val) == len(train_set)
    # Every class keeps images in both parts, in near-identical proportions.
    share = val.class_counts() / train_set.class_counts()
    assert (val.class_counts() >= 1).all() and (rest.class_counts() >= 1).all()
    assert np.all(np.abs(share - 0.2) < 0.15)
    again, _ = validation_split(train_set, 0.2, seed=1)
    other, _ = validation_split(train_set, 0.2, seed=2)
    assert np.array_equal(again.names, rest.names) and not np.array_equal(other.names, rest.names)
    assert validation_split(train_set, 0.0, seed=1) == (train_set, None)


def test_it_never_reads_the_test_split_before_the_final_evaluation(
    tiny_root: Path, tmp_path: Path, read_files: list[str]
) -> None:
    run = tmp_path / "run"
    assert train.main(["--data", str(tiny_root), "--out", str(run), "--loss", "lp", *TINY_FLAGS]) == 0
    assert read_files and all(name.startswith("train_") for name in read_files)
    logged = {json.loads(line)["split"] for line in (run / "metrics.jsonl").read_text().splitlines()}
    assert logged == {"train", "val"}
    read_files.clear()
    assert evaluate.main([str(run), "--data", str(tiny_root), "--device", "cpu"]) == 0
    assert any(name.startswith("test_") for name in read_files)
    result = json.loads((run / "eval.json").read_text())
    assert {"mean_diagonal", "accuracy", "kl", "per_class_recall"} <= set(result)
    # The tiny set has classes with one training image: C cannot be cross-validated, and it says so.
    assert result["basic"]["svm"]["cv_folds"] == 0 and "cv_skipped" in result["basic"]["svm"]


def test_it_asks_an_in_memory_set_for_its_training_split_only(
    tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faces = load_dataset(tiny_root)
    asked: list[str] = []
    original = FaceSet.where

    def recording(self: FaceSet, split: str) -> FaceSet:
        asked.append(split)
        return original(self, split)

    monkeypatch.setattr(FaceSet, "where", recording)
    config = train.config_from_args(
        train.argparse.Namespace(**vars(_parse(TINY_FLAGS))), train.TrainConfig(out=str(tmp_path / "run"))
    )
    train.train(config, faces)
    assert asked == ["train"]
    evaluate.evaluate_run(tmp_path / "run", faces, device="cpu")
    assert asked.count("test") == 1


def test_it_trains_on_distributions_over_seeds_and_reports_mean_and_std(tiny_root: Path, tmp_path: Path) -> None:
    run = tmp_path / "seeds"
    flags = ["--data", str(tiny_root), "--out", str(run), "--target", "crossentropy", "--seeds", "0", "1"]
    assert train.main([*flags, *TINY_FLAGS]) == 0
    assert (run / "seed_0" / "model.pt").exists() and (run / "seed_1" / "model.pt").exists()
    assert evaluate.main([str(run), "--data", str(tiny_root), "--device", "cpu"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["seeds"] == [0, 1]
    for key in ("mean_diagonal", "accuracy", "kl"):
        assert result[key] == pytest.approx(np.mean([r[key] for r in result["per_seed"].values()]))
        assert result[f"{key}_std"] >= 0.0


def test_it_refuses_a_distribution_target_on_data_without_distributions(tiny_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "basic"
    shutil.copytree(tiny_root / "basic", copy)
    (copy / "EmoLabel" / "distribution_basic.txt").unlink()
    code = train.main(["--data", str(copy), "--out", str(tmp_path / "run"), "--target", "probability", *TINY_FLAGS])
    assert code == 2


def _parse(flags: list[str]) -> object:
    parser = train.argparse.ArgumentParser()
    train.add_config_arguments(parser)
    return parser.parse_args(flags)


def _ferplus_copy(folder: Path) -> Path:
    """FER-2013 + FERPlus files of 48 faces: 6 per class in FERPlus's first 8 columns, 4 train,
    1 val, 1 test each, every face a different grey level."""
    from tests.training.test_public_datasets import _write_fer, _write_ferplus

    usages = ["Training"] * 4 + ["PublicTest", "PrivateTest"]
    rows, fer = [], []
    for column in range(8):
        for i, usage in enumerate(usages):
            votes = [0] * 10
            votes[column], votes[(column + 1) % 8] = 8, 2
            rows.append((usage, f"fer{len(rows):07d}.png", votes))
            fer.append((i % 7, usage))
    _write_fer(folder, fer)
    _write_ferplus(folder, rows)
    return folder


def _manifest_copy(tiny_root: Path, folder: Path) -> Path:
    """The tiny synthetic set as a manifest CSV with distribution columns (what the platform exports)."""
    faces = load_dataset(tiny_root)
    (folder / "images").mkdir(parents=True)
    lines = ["path,label,split," + ",".join(f"p_{c}" for c in faces.classes)]
    for name, image, label, split, dist in zip(
        faces.names, faces.images, faces.labels, faces.split, faces.distributions, strict=True
    ):
        import cv2

        cv2.imwrite(str(folder / "images" / f"{Path(name).stem}.png"), image)
        values = ",".join(f"{p:.4f}" for p in dist)
        lines.append(f"images/{Path(name).stem}.png,{faces.classes[label]},{split},{values}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return folder / "manifest.csv"


@pytest.mark.parametrize("kind", ["manifest", "ferplus"])
def test_it_trains_on_distributions_and_evaluates_a_manifest_and_ferplus(
    kind: str, tiny_root: Path, tmp_path: Path
) -> None:
    data = _manifest_copy(tiny_root, tmp_path / "m") if kind == "manifest" else _ferplus_copy(tmp_path / "fp")
    run = tmp_path / "run"
    flags = ["--data", str(data), "--out", str(run), "--target", "crossentropy", *TINY_FLAGS]
    assert train.main(flags) == 0
    assert evaluate.main([str(run), "--data", str(data), "--device", "cpu"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["target"] == "crossentropy" and result["kl"] > 0
    assert 0 <= result["mean_diagonal"] <= 1 and 0 <= result["accuracy"] <= 1
    if kind == "ferplus":
        assert result["basic"]["softmax"]["classes"][-1] == "contempt"

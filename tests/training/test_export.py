from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.training.test_train import TINY, random_faces
from training.config import TrainConfig
from training.export import export_model
from training.predict import Predictor
from training.predict import main as predict_main
from training.train import train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(TrainConfig(loss="lp", k=3, iters=4, out=str(out), threads=1, **TINY), random_faces())
    return out


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_it_gives_the_same_outputs_after_an_export_round_trip(tiny_run: Path, fmt: str) -> None:
    path = export_model(tiny_run, fmt)
    faces = np.random.default_rng(1).integers(0, 256, (5, 100, 100), dtype=np.uint8)
    expected = Predictor.load(tiny_run).predict_aligned(faces)
    exported = Predictor.load(path).predict_aligned(faces)
    np.testing.assert_allclose(exported, expected, atol=1e-5)
    card = json.loads((path.parent / "model_card.json").read_text())
    assert card["classes"][0] == "surprise" and card["data_version"] and card["config"]["loss"] == "lp"
    assert card["files"][fmt]["name"] == path.name


def test_it_prints_probabilities_of_aligned_faces(tiny_run: Path, tmp_path: Path, capsys) -> None:
    import cv2

    image = tmp_path / "face.png"
    cv2.imwrite(str(image), np.full((100, 100), 128, np.uint8))
    assert predict_main([str(tiny_run), str(image), "--aligned"]) == 0
    line = json.loads(capsys.readouterr().out.strip())
    probabilities = line["faces"][0]["probabilities"]
    assert len(probabilities) == 7 and abs(sum(probabilities.values()) - 1) < 1e-4


def test_it_detects_aligns_and_classifies_the_face_of_a_photo(tiny_run: Path) -> None:
    from training.predict import read_rgb

    photo = Path(__file__).resolve().parents[2] / "tests/data/face-data/london/neutral/001.jpg"
    faces = Predictor.load(tiny_run).predict_image(read_rgb(photo))
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0].box
    assert x2 - x1 > 50 and y2 - y1 > 50
    assert faces[0].probabilities.shape == (7,) and abs(float(faces[0].probabilities.sum()) - 1) < 1e-4

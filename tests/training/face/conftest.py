from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def face_data_dir() -> Path:
    return Path(os.environ.get("RAF_SHARED_DIR", REPO_ROOT.parent / "shared")) / "face-data"


@pytest.fixture(scope="session")
def face_data() -> Path:
    folder = face_data_dir()
    if not (folder / "lisa").is_dir():
        pytest.skip(f"real face photos not found in {folder} (set RAF_SHARED_DIR)")
    return folder


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def face_data_dir() -> Path:
    """The real photos the suite ships (``tests/data/face-data``, licences in its README)."""
    return REPO_ROOT / "tests" / "data" / "face-data"


@pytest.fixture(scope="session")
def face_data() -> Path:
    return face_data_dir()


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

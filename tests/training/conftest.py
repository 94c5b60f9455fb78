from __future__ import annotations

from pathlib import Path

import pytest

from training.synthetic import generate_subset


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic RAF-DB release (basic 168 images, compound 66), shared read-only."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_subset(root, subset="basic", n_images=168, seed=3, progress=False)
    generate_subset(root, subset="compound", n_images=66, seed=3, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 28-image synthetic basic set (4 per class), copied by tests that damage it."""
    root = tmp_path_factory.mktemp("tiny")
    generate_subset(root, subset="basic", n_images=28, seed=4, progress=False)
    return root

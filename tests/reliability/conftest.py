from __future__ import annotations

import pytest

from reliability.simulation import SimulatedCrowd, simulate_crowd
from reliability.votes import VoteTable


@pytest.fixture(scope="session")
def hard_crowd() -> SimulatedCrowd:
    """A small crowd with few votes per image, where estimators can beat majority vote."""
    return simulate_crowd(n_images=1500, n_annotators=40, votes_per_image=5, spammer_fraction=0.2, seed=3)


@pytest.fixture(scope="session")
def hard_table(hard_crowd: SimulatedCrowd) -> VoteTable:
    return VoteTable.from_arrays(hard_crowd.annotator, hard_crowd.image, hard_crowd.label, classes=hard_crowd.classes)

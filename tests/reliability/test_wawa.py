from __future__ import annotations

import numpy as np

from reliability.majority import MajorityVote, Wawa
from reliability.pipeline import make_estimator
from reliability.votes import VoteTable


def _table() -> VoteTable:
    # Images 0-3: A and B say 0, C says 1, D says 2 (majority 0). Image 4: A says 0, C and D say 1.
    rows = [(a, j, lab) for j in range(4) for a, lab in (("A", 0), ("B", 0), ("C", 1), ("D", 2))]
    rows += [("A", 4, 0), ("C", 4, 1), ("D", 4, 1)]
    annotators, images, labels = zip(*rows, strict=True)
    return VoteTable.from_arrays(list(annotators), list(images), list(labels), classes=3)


def test_it_weights_votes_by_agreement_with_the_majority() -> None:
    table = _table()
    mv = MajorityVote().fit(table)
    wawa = Wawa().fit(table)
    j4 = list(table.image_ids).index(4)
    assert mv.labels_[j4] == 1  # two careless annotators outvote a careful one
    a = list(table.annotator_ids).index("A")
    assert wawa.weights_[a] == 0.8  # agreed with the majority on 4 of 5 images
    assert wawa.labels_[j4] == 0  # 0.8 against 0.2 + 0.2
    np.testing.assert_allclose(wawa.posterior_.sum(axis=1), 1.0)
    assert wawa.result_.method == "wawa"


def test_it_is_available_by_name() -> None:
    assert isinstance(make_estimator("wawa"), Wawa)

"""FERPlus's four targets and the KL metric, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training.engine import BatchSampler
from training.losses import build_criterion
from training.metrics import mean_kl
from training.targets import TargetLoss

# softmax(LOGITS) = (0.2, 0.5, 0.3)
Q = torch.tensor([[0.2, 0.5, 0.3]], dtype=torch.float64)
LOGITS = Q.log()


def test_it_takes_the_top_class_for_majority() -> None:
    loss = TargetLoss("majority")(LOGITS, torch.tensor([2]))
    assert loss.item() == pytest.approx(-math.log(0.3))


def test_it_takes_the_sampled_label_for_probability() -> None:
    loss = TargetLoss("probability")(LOGITS, torch.tensor([2]), sampled=torch.tensor([1]))
    assert loss.item() == pytest.approx(-math.log(0.5))


def test_it_takes_the_distribution_as_a_soft_target_for_crossentropy() -> None:
    p = torch.tensor([[0.5, 0.25, 0.25]])
    loss = TargetLoss("crossentropy")(LOGITS, torch.tensor([0]), p)
    assert loss.item() == pytest.approx(-(0.5 * math.log(0.2) + 0.25 * math.log(0.5) + 0.25 * math.log(0.3)))


def test_it_counts_every_class_above_the_share_for_multitarget() -> None:
    # Classes 0 and 2 hold >= 30% of the votes; the network's best of them is class 2 (q = 0.3).
    p = torch.tensor([[0.45, 0.2, 0.35]])
    loss = TargetLoss("multitarget", threshold=0.3)(LOGITS, torch.tensor([0]), p)
    assert loss.item() == pytest.approx(-math.log(0.3))
    # Only the top class passes a high threshold: the majority loss.
    strict = TargetLoss("multitarget", threshold=0.9)(LOGITS, torch.tensor([0]), p)
    assert strict.item() == pytest.approx(-math.log(0.2))


def test_it_averages_over_the_batch() -> None:
    logits = torch.cat([LOGITS, LOGITS])
    loss = TargetLoss("majority")(logits, torch.tensor([0, 1]))
    assert loss.item() == pytest.approx(-(math.log(0.2) + math.log(0.5)) / 2)


def test_it_adds_the_lp_loss_to_a_distribution_target() -> None:
    criterion = build_criterion(
        "center", lambda_=0.5, k=2, neighbours="batch", train_labels=torch.tensor([0, 1]), n_classes=3, dim=2,
        target="crossentropy",
    )  # fmt: skip
    features = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # centres start at zero
    p = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    loss, parts = criterion(torch.cat([LOGITS, LOGITS]).float(), features, torch.tensor([0, 1]), torch.arange(2), p)
    softmax = -(math.log(0.2) + math.log(0.5)) / 2
    centre = 0.5 * (1.0 + 4.0) / 2
    assert parts["softmax"].item() == pytest.approx(softmax, rel=1e-6)
    assert loss.item() == pytest.approx(softmax + 0.5 * centre, rel=1e-6)


def test_it_refuses_a_distribution_target_without_distributions() -> None:
    with pytest.raises(ValueError, match="needs the crowd's distributions"):
        TargetLoss("crossentropy")(LOGITS, torch.tensor([0]))
    with pytest.raises(ValueError, match="sampled from the distributions"):
        TargetLoss("probability")(LOGITS, torch.tensor([0]))
    with pytest.raises(ValueError, match="unknown target 'soft'"):
        TargetLoss("soft")


def test_it_draws_probability_labels_in_proportion_and_repeatably() -> None:
    sampler = BatchSampler(n=64, batch_size=64, seed=3)
    p = torch.tensor([[0.7, 0.3, 0.0]]).repeat(64, 1)
    draws = torch.cat([sampler.sampled_labels(t, p) for t in range(100)])
    assert not (draws == 2).any()
    assert (draws == 0).float().mean().item() == pytest.approx(0.7, abs=0.03)
    assert torch.equal(sampler.sampled_labels(5, p), sampler.sampled_labels(5, p))


def test_it_measures_the_kl_from_the_human_distribution_to_the_prediction() -> None:
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    q = np.array([[0.25, 0.75, 0.0], [0.5, 0.25, 0.25]])
    expected = (0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75) + math.log(1 / 0.5)) / 2
    assert mean_kl(p, q) == pytest.approx(expected)
    assert mean_kl(p, p) == pytest.approx(0.0)
    # A prediction of zero where humans put mass costs a large but finite amount.
    assert 10 < mean_kl(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])) < 20
    with pytest.raises(ValueError, match="must be \\(N, K\\) alike"):
        mean_kl(p, q[:, :2])

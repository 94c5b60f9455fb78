from __future__ import annotations

import pytest
import torch

from training.losses import CenterLoss, FeatureBank, LocalityPreservingLoss


def brute_force_centroid(x: torch.Tensor, labels: torch.Tensor, i: int, k: int) -> torch.Tensor | None:
    """Mean of the k nearest same-class other rows of x (fewer when fewer exist)."""
    same = [j for j in range(len(x)) if j != i and labels[j] == labels[i]]
    if not same:
        return None
    distances = torch.stack([(x[i] - x[j]).pow(2).sum() for j in same])
    nearest = [same[j] for j in torch.argsort(distances)[:k].tolist()]
    return x[nearest].mean(0)


def test_it_gives_the_gradient_x_minus_centroid_over_n() -> None:
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 3, 3])  # class 2 alone: no neighbours
    x = torch.randn(10, 6, dtype=torch.float64, requires_grad=True)
    loss = LocalityPreservingLoss(2, source="batch")(x, labels)
    loss.backward()
    n = len(labels)
    for i in range(n):
        centroid = brute_force_centroid(x.detach(), labels, i, 2)
        expected = torch.zeros(6, dtype=torch.float64) if centroid is None else (x[i].detach() - centroid) / n
        torch.testing.assert_close(x.grad[i], expected)


def test_it_equals_centre_loss_up_to_the_leave_one_out_factor_when_k_is_n_c_minus_1() -> None:
    # With k = n_c - 1 over a batch of whole classes, each sample's neighbours are the rest of
    # its class, so c_i = (n_c * mean - x_i) / (n_c - 1) and x_i - c_i = n_c / (n_c - 1) * (x_i - mean):
    # the LP loss is the centre loss (centres = class means) times (n_c / (n_c - 1))^2, with
    # gradients pointing the same way.
    torch.manual_seed(1)
    n_c = 5
    labels = torch.arange(3).repeat_interleave(n_c)
    x = torch.randn(len(labels), 4, dtype=torch.float64, requires_grad=True)
    lp = LocalityPreservingLoss(n_c - 1, source="batch")(x, labels)
    (lp_grad,) = torch.autograd.grad(lp, x)
    centre = CenterLoss(3, 4).double()
    centre.centers.copy_(torch.stack([x[labels == c].mean(0) for c in range(3)]).detach())
    center_loss = centre(x, labels)
    (centre_grad,) = torch.autograd.grad(center_loss, x)
    factor = (n_c / (n_c - 1)) ** 2
    torch.testing.assert_close(lp, factor * center_loss)
    torch.testing.assert_close(lp_grad, (n_c / (n_c - 1)) * centre_grad)


@pytest.mark.parametrize("source", ["batch", "bank"])
def test_it_does_not_pull_a_class_with_fewer_than_k_members_toward_zero(source: str) -> None:
    labels = torch.tensor([0, 0, 1, 1, 1, 1])
    x = torch.tensor([[10.0, 10.0], [12.0, 10.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0], [0.0, 4.0]], requires_grad=True)
    loss_fn = LocalityPreservingLoss(20, source=source, train_labels=labels, dim=2, n_classes=2)
    indices = torch.arange(6)
    if source == "bank":
        loss_fn.update(x, labels, indices)
    loss = loss_fn(x, labels, indices)
    (grad,) = torch.autograd.grad(loss, x)
    # Sample 0's only neighbour is sample 1: the centroid is (12, 10), not (12, 10) / 20.
    torch.testing.assert_close(grad[0], (x[0] - torch.tensor([12.0, 10.0])).detach() / 6)
    # Pulled toward its neighbour (+x), never toward the origin (-x, -y).
    assert grad[0, 0] < 0 and grad[0, 1] == 0


def test_it_finds_the_same_neighbours_in_the_bank_as_a_brute_force_search() -> None:
    torch.manual_seed(2)
    n, dim, k = 40, 5, 3
    train_labels = torch.randint(0, 4, (n,))
    bank = FeatureBank(train_labels, dim, 4)
    everything = torch.randn(n, dim)
    written = torch.arange(0, n, 2)  # half the bank filled so far
    bank.update(everything[written], written)
    queries = torch.tensor([0, 1, 7, 12, 33])
    x = torch.randn(len(queries), dim)
    centroids, counts = bank.neighbour_centroids(x, train_labels[queries], queries, k)
    for row, index in enumerate(queries.tolist()):
        members = [j for j in written.tolist() if train_labels[j] == train_labels[index] and j != index]
        d = torch.stack([(x[row] - everything[j]).pow(2).sum() for j in members])
        nearest = [members[j] for j in torch.argsort(d)[:k].tolist()]
        assert counts[row] == len(nearest)
        torch.testing.assert_close(centroids[row], everything[nearest].mean(0))


def test_it_moves_centres_toward_their_class_features() -> None:
    centre = CenterLoss(2, 2, alpha=0.5)
    x = torch.tensor([[2.0, 0.0], [4.0, 0.0]])
    centre.update(x, torch.tensor([1, 1]))
    # delta = sum(c - x) / (1 + n) = (-6, 0) / 3; c <- c - 0.5 * delta = (1, 0)
    torch.testing.assert_close(centre.centers, torch.tensor([[0.0, 0.0], [1.0, 0.0]]))


def test_it_refuses_k_below_one_and_an_unknown_source() -> None:
    with pytest.raises(ValueError):
        LocalityPreservingLoss(0, source="batch")
    with pytest.raises(ValueError):
        LocalityPreservingLoss(3, source="everywhere")  # type: ignore[arg-type]

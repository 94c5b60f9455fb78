from __future__ import annotations

import torch

from training.model import BaseDCNN, parameter_groups, pooled_size


def test_it_reaches_256x12x12_and_a_2000_d_feature_from_a_90x90_crop() -> None:
    model = BaseDCNN(7)
    assert pooled_size(90) == 12
    assert model.fc1.in_features == 256 * 12 * 12
    logits, features = model(torch.rand(2, 1, 90, 90))
    assert logits.shape == (2, 7)
    assert features.shape == (2, 2000)
    assert bool((features >= 0).all())  # fc1 is followed by ReLU


def test_it_initialises_with_msra_weights_and_zero_biases() -> None:
    torch.manual_seed(0)
    model = BaseDCNN(11)
    assert model.fc2.out_features == 11
    for name, parameter in model.named_parameters():
        if name.endswith("bias"):
            assert bool((parameter == 0).all()), name
    conv1 = model.features[0].weight
    # He normal: std = sqrt(2 / fan_in), fan_in = 1 * 3 * 3 for conv1.
    assert abs(conv1.std().item() - (2 / 9) ** 0.5) < 0.1


def test_it_decays_fc2_five_times_more_than_the_other_weights() -> None:
    model = BaseDCNN(7, channels=(4, 4, 4, 4, 4, 4), feature_dim=8)
    groups = {g["name"]: g for g in parameter_groups(model, weight_decay=5e-4, fc2_weight_decay=2.5e-3)}
    assert groups["fc2"]["params"] == [model.fc2.weight] and groups["fc2"]["weight_decay"] == 2.5e-3
    assert any(p is model.fc1.weight for p in groups["conv+fc1"]["params"])
    assert groups["conv+fc1"]["weight_decay"] == 5e-4
    n_params = sum(len(g["params"]) for g in groups.values())
    assert n_params == len(list(model.parameters()))

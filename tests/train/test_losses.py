"""Losses of fedflm/train/losses.py: each equals a direct computation, and all are per-sample under Opacus."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from opacus.grad_sample import GradSampleModule

from fedflm.config import TrainConfig
from fedflm.errors import ConfigError
from fedflm.options import LossSpec, parse_loss
from fedflm.train.losses import TrainLoss, class_weights, make_loss, per_sample_loss


def _batch(seed: int = 0, n: int = 12, k: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=gen) * 2, torch.randint(0, k, (n,), generator=gen)


def _direct_p(logits: torch.Tensor) -> np.ndarray:
    z = logits.double().numpy()
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_focal_equals_direct_computation() -> None:
    # Prepare
    logits, labels = _batch()
    p = _direct_p(logits)[np.arange(len(labels)), labels.numpy()]

    # Execute
    got = per_sample_loss(logits, labels, parse_loss("focal:2"))

    # Assert: (1 - p_y)^gamma * -log p_y, row by row
    np.testing.assert_allclose(got.numpy(), (1 - p) ** 2 * -np.log(p), rtol=1e-5)


def test_focal_with_gamma_zero_is_cross_entropy() -> None:
    # Prepare
    logits, labels = _batch(1)

    # Execute
    got = per_sample_loss(logits, labels, parse_loss("focal:0"))

    # Assert
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, reduction="none"))


def test_weighted_equals_direct_computation_and_balances_a_95_5_split() -> None:
    # Prepare: 95 rows of class 0, 5 of class 1
    counts = [95, 5]
    own_labels = [0] * 95 + [1] * 5
    logits, labels = _batch(2, k=2)

    # Execute
    w = class_weights(own_labels, 2)
    got = make_loss("weighted", 0.0, own_labels)(logits, labels)

    # Assert: balanced weights n / (K n_c), the mean weight over the rows is 1, loss = mean w_y CE
    np.testing.assert_allclose(w.numpy(), [100 / (2 * 95), 100 / (2 * 5)], rtol=1e-6)
    assert float(np.dot(counts, w.numpy())) / 100 == pytest.approx(1.0)
    p = _direct_p(logits)[np.arange(len(labels)), labels.numpy()]
    direct = np.mean(w.numpy()[labels.numpy()] * -np.log(p))
    assert float(got) == pytest.approx(direct, rel=1e-5)


def test_weighted_matches_torch_weighted_cross_entropy_per_sample() -> None:
    # Prepare
    logits, labels = _batch(3)
    own = [0] * 10 + [1] * 30 + [2] * 5 + [3] * 55
    w = class_weights(own, 4)

    # Execute
    got = per_sample_loss(logits, labels, LossSpec("weighted", 1.0), weights=w)

    # Assert
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, weight=w, reduction="none"))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=60), st.floats(0.0, 2.0))
def test_class_weights_average_one_over_the_clients_rows(labels: list[int], power: float) -> None:
    # Execute
    w = class_weights(labels, 6, power).numpy()

    # Assert: mean over rows is 1 (gradient scale of plain CE), classes not held weigh 1
    assert np.mean(w[labels]) == pytest.approx(1.0, rel=1e-5)
    assert all(w[c] == 1.0 for c in range(6) if c not in labels)


def test_label_smoothing_equals_torch_and_direct_computation() -> None:
    # Prepare
    logits, labels = _batch(4)
    eps, k = 0.1, logits.shape[1]
    p = _direct_p(logits)
    target = np.full_like(p, eps / k)
    target[np.arange(len(labels)), labels.numpy()] += 1 - eps

    # Execute
    got = per_sample_loss(logits, labels, parse_loss("ce"), label_smoothing=eps)

    # Assert: -sum_j t_j log p_j with t = (1 - eps) one_hot + eps / K; torch gives the same
    np.testing.assert_allclose(got.numpy(), -(target * np.log(p)).sum(1), rtol=1e-5)
    torch.testing.assert_close(got, F.cross_entropy(logits, labels, reduction="none", label_smoothing=eps))


def test_gce_equals_direct_computation_and_tends_to_ce() -> None:
    # Prepare
    logits, labels = _batch(5)
    p = _direct_p(logits)[np.arange(len(labels)), labels.numpy()]

    # Execute
    got = per_sample_loss(logits, labels, parse_loss("gce:0.7"))
    near_ce = per_sample_loss(logits, labels, parse_loss("gce:0.001"))

    # Assert: (1 - p_y^q) / q; q -> 0 is cross-entropy, q = 1 is 1 - p_y
    np.testing.assert_allclose(got.numpy(), (1 - p ** 0.7) / 0.7, rtol=1e-5)
    np.testing.assert_allclose(near_ce.numpy(), -np.log(p), rtol=1e-2)  # error ~ q |log p| / 2
    np.testing.assert_allclose(per_sample_loss(logits, labels, parse_loss("gce:1")).numpy(), 1 - p, rtol=1e-5)


@pytest.mark.parametrize("loss", ["weighted", "focal:2", "gce:0.7", "ce"])
def test_opacus_per_sample_gradients_equal_each_rows_own_gradient(loss: str) -> None:
    # Prepare: a linear head wrapped as DP-SGD wraps it (mean reduction)
    torch.manual_seed(0)
    head = torch.nn.Linear(6, 3)
    x, y = torch.randn(8, 6), torch.tensor([0, 1, 2, 0, 0, 0, 1, 0])
    loss_fn = make_loss(loss, 0.1 if loss != "gce:0.7" else 0.0, y.tolist())
    gsm = GradSampleModule(head, batch_first=True, loss_reduction="mean")

    # Execute
    loss_fn(gsm(x), y).backward()
    per_sample = head.weight.grad_sample.detach().clone()

    # Assert: row i's gradient is that of the loss of row i alone (no coupling across the batch)
    for i in range(len(y)):
        ref = torch.nn.Linear(6, 3)
        ref.load_state_dict(head.state_dict())
        loss_fn(ref(x[i: i + 1]), y[i: i + 1]).backward()
        torch.testing.assert_close(per_sample[i], ref.weight.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("value", "needle"), [
    ("focal", "focal"), ("focal:x", "'x'"), ("gce:0", "'0'"), ("weighted:3", "'3'"), ("mse", "'mse'"),
    ("weighted:1:1.5", "floor.*'1.5'"), ("weighted::0.2", "'weighted::0.2'"), ("focal:2:0.1", "'focal:2:0.1'")])
def test_bad_loss_names_the_value(value: str, needle: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=needle):
        TrainConfig(loss=value)


def test_label_smoothing_is_refused_with_gce_and_out_of_range() -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="gce:0.5"):
        TrainConfig(loss="gce:0.5", label_smoothing=0.1)
    with pytest.raises(ConfigError, match="1.5"):
        TrainConfig(label_smoothing=1.5)
    assert math.isclose(TrainConfig(loss="focal:2", label_smoothing=0.1).label_smoothing, 0.1)


@pytest.mark.parametrize(("loss", "major"), [("weighted", 1 / 3), ("weighted:0.5", 3 ** -0.5), ("weighted:1:0.5", 0.5)])
def test_dp_optimizer_applies_class_weights_to_clipped_gradients(loss: str, major: float) -> None:
    # Prepare: DP-SGD's optimizer around a linear head; rows of a 3:1 client
    from fedflm.privacy.dp import make_private

    torch.manual_seed(0)
    head = torch.nn.Linear(5, 2)
    x, y = torch.randn(4, 5) * 3, torch.tensor([0, 0, 0, 1])
    loss_fn = make_loss(loss, 0.0, [0, 0, 0, 1])
    loader = torch.utils.data.DataLoader(list(zip(x, y)), batch_size=4)
    model, opt, _ = make_private(head, torch.optim.SGD(head.parameters(), lr=0.1), loader,
                                 noise_multiplier=1.0, max_grad_norm=0.5, noise_seed=0)
    weights = loss_fn.clip_weights(y, 2)

    # Execute
    loss_fn(model(x), y, after_clip=True).backward()
    opt.sample_weights = weights
    opt.clip_and_accumulate()

    # Assert: summed gradient = sum_i (w_i / w_max) clip(g_i); class 0's ratio is 3 ** -POWER, or FLOOR above it
    torch.testing.assert_close(weights, torch.tensor([major, major, major, 1.0]))
    expected = torch.zeros_like(head.weight)
    for i in range(4):
        ref = torch.nn.Linear(5, 2)
        ref.load_state_dict({k.removeprefix("_module."): v for k, v in head.state_dict().items()})
        F.cross_entropy(ref(x[i: i + 1]), y[i: i + 1]).backward()
        g = torch.cat([ref.weight.grad.flatten(), ref.bias.grad])
        expected += weights[i] * ref.weight.grad * min(1.0, 0.5 / float(g.norm()))
    torch.testing.assert_close(head.weight.summed_grad, expected, rtol=1e-4, atol=1e-6)
    assert opt.sample_weights is None  # used for one step only


def test_dp_optimizer_refuses_weights_above_one() -> None:
    # Prepare
    from fedflm.errors import PrivacyError
    from fedflm.privacy.dp import make_private

    head = torch.nn.Linear(3, 2)
    loader = torch.utils.data.DataLoader(list(zip(torch.randn(2, 3), torch.tensor([0, 1]))), batch_size=2)
    model, opt, _ = make_private(head, torch.optim.SGD(head.parameters(), lr=0.1), loader,
                                 noise_multiplier=1.0, max_grad_norm=1.0, noise_seed=0)
    F.cross_entropy(model(torch.randn(2, 3)), torch.tensor([0, 1])).backward()

    # Execute / Assert: a weight above 1 would raise the sensitivity above C
    opt.sample_weights = torch.tensor([1.0, 2.0])
    with pytest.raises(PrivacyError, match="2.0"):
        opt.clip_and_accumulate()


@pytest.mark.parametrize(("loss", "ratios"), [("weighted", [1 / 50, 1 / 10, 1.0]), ("weighted:1:0.2", [0.2, 0.2, 1.0]),
                                              ("weighted:0.5:0.2", [0.2, 0.1 ** 0.5, 1.0])])
def test_floor_keeps_a_sparse_owners_dp_signal_at_the_same_sensitivity(loss: str, ratios: list[float]) -> None:
    # Prepare: an owner with 50 rows of class 0, 10 of class 1 and ONE of class 2; every row's gradient exceeds C
    from fedflm.privacy.dp import make_private

    torch.manual_seed(1)
    own = [0] * 50 + [1] * 10 + [2]
    x, y = torch.randn(61, 4) * 5, torch.tensor(own)
    head = torch.nn.Linear(4, 3)
    loader = torch.utils.data.DataLoader(list(zip(x, y)), batch_size=61)
    model, opt, _ = make_private(head, torch.optim.SGD(head.parameters(), lr=0.1), loader,
                                 noise_multiplier=1.0, max_grad_norm=0.5, noise_seed=0)
    loss_fn = make_loss(loss, 0.0, own)

    # Execute: one DP-SGD step's clipping and weighting, and each row's own contribution
    weights = loss_fn.clip_weights(y, 3)
    loss_fn(model(x), y, after_clip=True).backward()
    opt.sample_weights = weights
    opt.clip_and_accumulate()
    contributions = []
    for i in range(61):
        ref = torch.nn.Linear(4, 3)
        ref.load_state_dict({k.removeprefix("_module."): v for k, v in head.state_dict().items()})
        F.cross_entropy(ref(x[i: i + 1]), y[i: i + 1]).backward()
        g = torch.cat([ref.weight.grad.flatten(), ref.bias.grad])
        contributions.append(weights[i] * g * min(1.0, 0.5 / float(g.norm())))
    contributions = torch.stack(contributions)

    # Assert: ratios (w_c / w_max, raised to FLOOR) as computed by hand; the step sums the weighted clipped rows;
    # no row adds more than C (same sensitivity, noise and epsilon); the signal mass sum_i r_i C is the owner's
    # share against the same noise sigma C: 3 / 61 of plain DP-SGD's without a floor, at least FLOOR with one
    torch.testing.assert_close(weights, torch.tensor(ratios)[y], rtol=1e-5, atol=1e-7)
    summed = torch.cat([head.weight.summed_grad.flatten(), head.bias.summed_grad])
    torch.testing.assert_close(summed, contributions.sum(0), rtol=1e-4, atol=1e-6)
    assert float(contributions.norm(dim=1).max()) <= 0.5 + 1e-5
    floor = parse_loss(loss).floor
    mass = float(weights.mean())
    assert mass >= floor and (floor > 0 or mass == pytest.approx(3 / 61))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=80), st.floats(0.0, 2.0), st.floats(0.0, 1.0))
def test_floored_clip_weights_lie_in_floor_to_one(labels: list[int], power: float, floor: float) -> None:
    # Prepare
    loss_fn = TrainLoss(LossSpec("weighted", power, floor), 0.0, labels)
    y = torch.tensor(labels)

    # Execute
    r = loss_fn.clip_weights(y, 5)
    w = class_weights(labels, 5, power, floor).numpy()

    # Assert: every held example keeps at least FLOOR of its clipped gradient, the largest keeps all of it;
    # the loss weights have the same ratios and still average 1 over the rows
    assert float(r.min()) >= floor - 1e-6 and float(r.max()) == pytest.approx(1.0)
    np.testing.assert_allclose(r.numpy(), w[labels] / w[sorted(set(labels))].max(), rtol=1e-5)
    assert np.mean(w[labels]) == pytest.approx(1.0, rel=1e-5)

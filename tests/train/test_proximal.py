"""issue 21: FedProx's proximal term, with and without DP-SGD (fedflm.train.proximal)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch.utils.data import DataLoader

from fedflm.privacy.dp import SecureModeOffWarning, make_private
from fedflm.train.proximal import attach_proximal

pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")
SHIFT, LR = 0.7, 0.5


def _rows(n: int = 32) -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(4, generator=g), int(torch.randint(0, 2, (1,), generator=g))) for _ in range(n)]


def _model_and_optimizer(mu: float) -> tuple[torch.nn.Linear, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    if mu:
        attach_proximal(opt, mu)  # anchor: the weights on entry (what the server sent)
    with torch.no_grad():  # then move away from the anchor, as earlier local steps would
        for p in model.parameters():
            p.add_(SHIFT)
    return model, opt


def test_without_dp_the_step_follows_the_gradient_of_the_proximal_objective() -> None:
    # Prepare
    mu = 0.3
    model, opt = _model_and_optimizer(mu)
    x, y = torch.stack([r[0] for r in _rows()]), torch.tensor([r[1] for r in _rows()])
    before = [p.detach().clone() for p in model.parameters()]
    anchors = [b - SHIFT for b in before]
    reference = [b.clone().requires_grad_(True) for b in before]
    objective = torch.nn.functional.cross_entropy(x @ reference[0].T + reference[1], y) + mu / 2 * sum(
        ((r - a) ** 2).sum() for r, a in zip(reference, anchors))
    objective.backward()

    # Execute
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()

    # Assert
    for p, b, r in zip(model.parameters(), before, reference):
        torch.testing.assert_close(p.detach(), b - LR * r.grad)


def _one_private_step(mu: float) -> list[torch.Tensor]:
    model, opt = _model_and_optimizer(mu)
    loader = DataLoader(_rows(), batch_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecureModeOffWarning)
        private, private_opt, private_loader = make_private(model, opt, loader, noise_multiplier=1.0,
                                                            max_grad_norm=0.01, noise_seed=5,
                                                            grad_sample_mode="hooks")
    x, y = next(iter(private_loader))
    private_opt.zero_grad()
    torch.nn.functional.cross_entropy(private(x), y).backward()
    private_opt.step()
    return [p.detach().clone() for p in model.parameters()]


def test_under_dp_sgd_the_proximal_gradient_is_added_after_clipping_and_noise() -> None:
    # Prepare: the same Poisson batch and noise (same seed) with and without the proximal term
    mu = 0.4

    # Execute
    plain, prox = _one_private_step(0.0), _one_private_step(mu)

    # Assert: the difference is exactly -lr * mu * (w - anchor), far larger than lr * C = 0.005, so the
    # proximal gradient was neither clipped nor noised (and the DP step itself is unchanged)
    for a, b in zip(plain, prox):
        torch.testing.assert_close(b - a, torch.full_like(a, -LR * mu * SHIFT))

"""DP-SGD with one user as the privacy unit: per-user clipping against a direct computation, and
Poisson sampling (q) over users, not interactions."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn import functional as F

from fedflm.privacy.dp import make_private, release
from fedflm.recommend.model import TwoTower
from fedflm.recommend.records import Example, UserExamples
from fedflm.recommend.train import train_towers, user_mean_loss
from fedflm.recommend.users import PairCollator, user_dataset, user_loader
from fedflm.train.documents import GroupCollator

WIDTH = 4


def _users(rows_per_user: list[int], seed: int = 0) -> tuple[list[UserExamples], dict[str, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    users, vectors = [], {}
    for u, n in enumerate(rows_per_user):
        examples = []
        for r in range(n):
            h, c = f"h{u}", f"c{u}-{r}"
            vectors[h] = torch.randn(WIDTH, generator=gen)
            vectors[c] = torch.randn(WIDTH, generator=gen)
            examples.append(Example(h, c, r % 2))
        users.append(UserExamples(f"u{u}", tuple(examples)))
    return users, vectors


def _direct(model: TwoTower, batch: dict[str, torch.Tensor], clip: float) -> torch.Tensor:
    """Sum over users of the clipped gradient of each user's mean record loss, one user at a time."""
    total = None
    for g in batch["groups"].unique():
        m = copy.deepcopy(model)
        rows = batch["groups"] == g
        F.binary_cross_entropy_with_logits(m(batch["features"][rows]), batch["labels"][rows]).backward()
        grad = torch.cat([p.grad.reshape(-1) for p in m.parameters()])
        grad = grad * min(1.0, clip / (float(grad.norm()) + 1e-6))
        total = grad if total is None else total + grad
    return total


@pytest.mark.parametrize("mode", ["ew", "hooks"])
def test_per_user_clipping_matches_direct_computation(mode):
    # Prepare: three users with 1, 3 and 6 records; a clip that bounds some users and not others
    users, vectors = _users([1, 3, 6])
    data = user_dataset(users, vectors)
    model = TwoTower(WIDTH, 3, seed=0)
    with torch.no_grad():
        model.prior.weight.normal_(generator=torch.Generator().manual_seed(1))
    batch = GroupCollator(PairCollator(2 * WIDTH))([data[i] for i in range(len(data))])
    clip = 1.1
    expected = _direct(model, batch, clip)
    twin = copy.deepcopy(model)
    private, opt, _ = make_private(twin, torch.optim.SGD(twin.parameters(), lr=0.1),
                                   user_loader(data, 2, 0), noise_multiplier=1.0, max_grad_norm=clip,
                                   grad_sample_mode=mode, noise_seed=0)
    # Execute: per-record gradients (Opacus), averaged per user, clipped, summed
    F.binary_cross_entropy_with_logits(private(batch["features"]), batch["labels"], reduction="none").mean().backward()
    opt.sample_groups = batch["groups"]
    opt.clip_and_accumulate()
    got = torch.cat([p.summed_grad.reshape(-1) for p in opt.params])
    release(private)
    # Assert
    assert torch.allclose(got, expected, atol=1e-6)
    norms = [float(_direct(model, {k: v[batch["groups"] == g] for k, v in batch.items()}, 1e9).norm())
             for g in range(3)]
    assert min(norms) < clip < max(norms)  # the check covers clipped and unclipped users


def test_poisson_sampling_draws_users_and_q_counts_users():
    # Prepare: 10 users of 8 records each, 2 users per expected batch
    users, vectors = _users([8] * 10, seed=2)
    loader = user_loader(user_dataset(users, vectors), 2, 0)
    made = {}

    def privatize(m, o, loader):
        made["m"], made["o"], made["loader"] = make_private(m, o, loader, noise_multiplier=1.0, max_grad_norm=1.0,
                                                            noise_seed=3)
        return made["m"], made["o"], made["loader"]

    # Execute
    result = train_towers(TwoTower(WIDTH, 3, seed=0), loader, 5, 0.01, privatize)
    release(made["m"])
    # Assert: q = 2 / 10 (users), and the sampler's population is the 10 users
    assert made["o"].sample_rate == pytest.approx(0.2) and len(made["loader"].dataset) == 10
    assert made["o"].steps_taken == 5 and result.steps == 5


def test_user_mean_loss_weights_users_equally():
    rows = torch.tensor([1.0, 3.0, 10.0])
    assert float(user_mean_loss(rows, torch.tensor([0, 0, 1]))) == pytest.approx((2.0 + 10.0) / 2)

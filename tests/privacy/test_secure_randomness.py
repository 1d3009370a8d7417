"""Secure mode draws DP sampling and noise from the OS CSPRNG only: with torch's and NumPy's
global generators patched to raise, secure DP-SGD and client-level noise still run -- and the
patch does catch a draw from a global generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from opacus.optimizers.optimizer import _generate_noise
from torch.utils.data import DataLoader

from fedflm.fl.dp_server import gaussian_noise, poisson_subset
from fedflm.privacy.dp import make_private, release

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class GlobalGeneratorUsed(AssertionError):
    pass


@pytest.fixture
def no_global_generators(monkeypatch):
    """torch's sampling functions raise unless given an explicit generator; NumPy's global ones always raise."""
    for name in ("normal", "randn", "rand", "randint", "bernoulli", "randperm", "multinomial"):
        real = getattr(torch, name)

        def guarded(*args, _real=real, _name=name, **kwargs):
            if kwargs.get("generator") is None:
                raise GlobalGeneratorUsed(f"torch.{_name} drew from torch's global generator")
            return _real(*args, **kwargs)
        monkeypatch.setattr(torch, name, guarded)
    for name in ("normal", "random", "rand", "randn", "uniform", "binomial", "choice", "permutation"):
        def refuse(*args, _name=name, **kwargs):
            raise GlobalGeneratorUsed(f"np.random.{_name} drew from NumPy's global generator")
        monkeypatch.setattr(np.random, name, refuse)


def _train(secure_mode: bool) -> int:
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = [(torch.full((4,), float(i % 3)), i % 2) for i in range(60)]
    loader = DataLoader(data, batch_size=12)
    pmodel, popt, ploader = make_private(model, opt, loader, noise_multiplier=1.0, max_grad_norm=1.0,
                                         secure_mode=secure_mode)
    for x, y in ploader:
        popt.zero_grad()
        if len(y):
            torch.nn.functional.cross_entropy(pmodel(x), y).backward()
        popt.step()
    release(pmodel)
    return popt.steps_taken


def test_the_guard_catches_a_global_generator(no_global_generators):
    with pytest.raises(GlobalGeneratorUsed):
        _generate_noise(std=1.0, reference=torch.zeros(3), generator=None, secure_mode=False)
    with pytest.raises(GlobalGeneratorUsed):
        np.random.normal(0, 1, 3)


def test_secure_dp_sgd_sampling_and_noise_use_no_global_generator(no_global_generators):
    assert _train(secure_mode=True) == 5


def test_without_secure_mode_dp_sgd_still_never_uses_the_global_generator(no_global_generators):
    assert _train(secure_mode=False) == 5


def test_client_level_noise_and_sampling_use_no_global_generator(no_global_generators):
    secure = gaussian_noise((20_000,), 0.5, secure_mode=True)
    seeded = gaussian_noise((20_000,), 0.5, secure_mode=False)
    assert abs(float(secure.std()) - 0.5) < 0.02 and abs(float(seeded.std()) - 0.5) < 0.02
    assert 0 < len(poisson_subset(list(range(1000)), 0.5)) < 1000


def test_a_server_seed_does_not_choose_the_owners_noise(monkeypatch):
    # Prepare: a node without secure mode and without its own seed, twice after the same global seed
    from clients.node import round_seed
    from fedflm.owner.settings import OwnerSettings

    s = OwnerSettings(owner_id="a", state_dir="/tmp/x", secure_mode=False)
    own = s.replace(seed=11)

    # Execute
    torch.manual_seed(42)
    a = round_seed(s, "run", 1)
    torch.manual_seed(42)
    b = round_seed(s, "run", 1)

    # Assert: fresh OS entropy each time; with an owner seed, reproducible but different per round
    assert a != b
    assert round_seed(own, "run", 1) == round_seed(own, "run", 1) != round_seed(own, "run", 2)
    assert round_seed(OwnerSettings(owner_id="a", state_dir="/tmp/x"), "run", 1) is None

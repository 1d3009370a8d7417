"""One client's rounds of training for the empirical audit, with the run's settings.

The audit must exercise the same DP path training uses, so this module calls
the production pieces -- ``fedflm.train.local.train_local`` with
``fedflm.privacy.dp.make_private`` as its privatizer and the noise
multiplier from ``fedflm.privacy.calibration.calibrate`` (calibrated for the
run's full number of rounds, as a client of the run would) -- and records
what the DP optimizer actually did (sigma, q, noisy steps) per round.

The claimed epsilon is then recomputed from that history by the audit's own
accountants (``recompute``), not taken from the training side.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch

from fedflm.audit.recompute import SAME_KIND, Block, recompute
from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.train.batching import TokenizedDataset, train_loader
from fedflm.train.local import train_local

Round = tuple[float, float, int]  # (noise multiplier, sample rate, noisy steps); (0, 0, steps) without DP


class RoundTrainer(Protocol):
    """Trains ``model`` in place for one round and reports what it did."""

    def train_round(self, model: torch.nn.Module, data: TokenizedDataset, rnd: int,
                    device: torch.device) -> Round: ...

    def claimed_epsilon(self, history: list[Round]) -> float: ...


class PlainTrainer:
    """No DP: the claim is epsilon = infinity."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg

    def train_round(self, model: torch.nn.Module, data: TokenizedDataset, rnd: int,
                    device: torch.device) -> Round:
        loader = train_loader(data, self.cfg.train.batch_size, seed=self.cfg.fed.seed * 1000 + rnd * 97)
        result = train_local(model, loader, self.cfg.train, device)
        return (0.0, 0.0, result.steps)

    def claimed_epsilon(self, history: list[Round]) -> float:
        return math.inf


class SampleDPTrainer:
    """DP-SGD exactly as configured: Poisson sampling, clipping, Gaussian noise."""

    def __init__(self, cfg: RunConfig, n_examples: int, noise_multiplier: float) -> None:
        self.cfg, self.n, self.sigma = cfg, n_examples, noise_multiplier

    def train_round(self, model: torch.nn.Module, data: TokenizedDataset, rnd: int,
                    device: torch.device) -> Round:
        from fedflm.privacy.dp import make_private, release

        state: dict[str, object] = {}

        def privatize(m, opt, loader):
            pm, popt, ploader = make_private(m, opt, loader, noise_multiplier=self.sigma,
                                             max_grad_norm=self.cfg.privacy.max_grad_norm,
                                             secure_mode=self.cfg.privacy.secure_mode)
            state.update(model=pm, optimizer=popt)
            return pm, popt, ploader

        loader = train_loader(data, self.cfg.train.batch_size, seed=self.cfg.fed.seed * 1000 + rnd * 97)
        try:
            train_local(model, loader, self.cfg.train, device, privatize=privatize)
        finally:
            if "model" in state:
                release(state["model"])  # type: ignore[arg-type]
        opt = state["optimizer"]
        return (float(opt.noise_multiplier), float(opt.sample_rate), int(opt.steps_taken))  # type: ignore[attr-defined]

    def claimed_epsilon(self, history: list[Round]) -> float:
        blocks = [Block(s, q, n, self.cfg.privacy.delta) for s, q, n in history]
        name = SAME_KIND[self.cfg.privacy.accountant]
        value = recompute(blocks, every_entry=False).final(name)
        if value is None:
            raise ConfigError(f"cannot compute the claimed epsilon with {name}")
        return value


def steps_per_round(cfg: RunConfig, n_examples: int) -> tuple[float, int]:
    """(sample rate, noisy steps per round) the DP loader will take."""
    q = min(1.0, cfg.train.batch_size / n_examples)
    return q, cfg.train.local_steps or cfg.train.local_epochs * int(1 / q)


def default_round_trainer(cfg: RunConfig, n_examples: int) -> RoundTrainer:
    """The trainer for ``cfg.privacy.dp`` ("none" or "sample")."""
    dp = cfg.privacy
    if dp.dp == "none":
        return PlainTrainer(cfg)
    if dp.dp != "sample":
        raise ConfigError(f"audit empirical supports dp=sample or dp=none, got dp={dp.dp!r} "
                          f"(client-level DP protects whole clients; audit it with client canaries)")
    sigma = dp.noise_multiplier
    if sigma is None:
        from fedflm.privacy.calibration import calibrate

        if dp.epsilon is None:
            raise ConfigError("dp=sample needs epsilon or noise_multiplier")
        q, steps = steps_per_round(cfg, n_examples)
        sigma = calibrate(target_epsilon=dp.epsilon, delta=dp.delta, rounds=cfg.fed.rounds,
                          steps_per_round=steps, sample_rate=q, accountant=dp.accountant).noise_multiplier
    return SampleDPTrainer(cfg, n_examples, sigma)

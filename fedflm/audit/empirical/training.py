"""One client's rounds of training for the empirical audit, with the run's settings.

The audit must exercise the same DP path a client of the run takes, so the
DP trainer calls the production entry point the ClientApp calls,
``fedflm.privacy.federation.train_private`` around
``fedflm.train.local.train_local``: the owner's plan (noise multiplier
calibrated for the run's full number of rounds, sample rate batch/n),
Opacus DP-SGD, and the fsync'd ledger -- here a throw-away owner in a
temporary state directory. The claim tested is what that ledger records;
the audit also recomputes it with its own accountant (``recompute``) and
verifies the ledger (``ledger_audit``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import torch

from fedflm.audit.ledger.recompute import SAME_KIND, Block, recompute
from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.train.batching import TokenizedDataset, train_loader
from fedflm.train.local import train_local

Round = tuple[float, float, int]  # (noise multiplier, sample rate, noisy steps); (0, 0, steps) without DP
AUDIT_OWNER = "audit-canary-client"


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
        loader = train_loader(data, self.cfg.train.batch_size, seed=self.cfg.fed.round_seed(rnd))
        result = train_local(model, loader, self.cfg.train, device)
        return (0.0, 0.0, result.steps)

    def claimed_epsilon(self, history: list[Round]) -> float:
        return math.inf


class SampleDPTrainer:
    """DP-SGD through the ClientApp's own path, recorded in a throw-away ledger."""

    def __init__(self, cfg: RunConfig, state_dir: Path) -> None:
        from fedflm.privacy.state import OwnerPrivacy

        self.cfg = cfg
        self.owner = OwnerPrivacy(state_dir / AUDIT_OWNER, AUDIT_OWNER, cfg.privacy.delta,
                                  cfg.privacy.accountant, None)

    @property
    def ledger_dir(self) -> Path:
        return self.owner.ledger_path.parent

    def train_round(self, model: torch.nn.Module, data: TokenizedDataset, rnd: int,
                    device: torch.device) -> Round:
        from fedflm.privacy.federation import train_private

        loader = train_loader(data, self.cfg.train.batch_size, seed=self.cfg.fed.round_seed(rnd))
        train_private(self.cfg, self.owner, len(data), rnd,
                      lambda privatize: train_local(model, loader, self.cfg.train, device, privatize))
        e = self.owner.entries()[-1]
        return (float(e["noise_multiplier"]), float(e["sample_rate"]), int(e["steps"]))

    def claimed_epsilon(self, history: list[Round]) -> float:
        """The epsilon the training side recorded after the last round."""
        return float(self.owner.entries()[-1]["epsilon"])


def recomputed_epsilon(cfg: RunConfig, history: list[Round]) -> float:
    """The audit's own value for ``history`` (infinity without DP)."""
    if cfg.privacy.dp == "none":
        return math.inf
    blocks = [Block(s, q, n, cfg.privacy.delta) for s, q, n in history]
    name = SAME_KIND[cfg.privacy.accountant]
    value = recompute(blocks, every_entry=False).final(name)
    if value is None:
        raise ConfigError(f"cannot recompute the claimed epsilon with {name}")
    return value


def default_round_trainer(cfg: RunConfig, state_dir: Path) -> RoundTrainer:
    """The trainer for ``cfg.privacy.dp`` ("none" or "sample")."""
    if cfg.privacy.dp == "none":
        return PlainTrainer(cfg)
    if cfg.privacy.dp != "sample":
        raise ConfigError(f"audit empirical supports dp=sample or dp=none, got dp={cfg.privacy.dp!r} "
                          f"(client-level DP protects whole clients; audit it with client canaries)")
    return SampleDPTrainer(cfg, state_dir)

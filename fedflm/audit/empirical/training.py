"""One client's rounds of training for the empirical audit, as a node of the run trains them.

The audit must exercise the same path a client of the run takes:

* what a round trains, and on what, comes from ``fedflm.train.plan.round_module`` (the
  ClientApp's own choice): the run's ``train_mode`` (head / lora / lp-ft), and with
  ``feature_cache`` on, the head on cached frozen sentence vectors (or the top layers on
  cached hidden states); the round's learning rate (``round_lr``), resampling and
  augmentation as the node applies them;
* round 1 of a prototype run (``proto_fraction`` > 0, head or lp-ft) is the owner's release
  of per-class sums of its frozen sentence vectors (noisy under DP), turned into the head
  as the server does (``prototype_head``; a class-name prior, public post-processing, is
  left out);
* under DP-SGD the trainer calls the production entry points the ClientApp calls,
  ``fedflm.privacy.federation.train_private`` (Opacus wiring, Poisson sampling, clipping,
  noise) and ``private_prototypes``: the owner's plan (noise multiplier calibrated for the
  run's full number of rounds, sample rate batch/n) and the fsync'd ledger -- here a
  throw-away owner in a temporary state directory. The claim tested is what that ledger
  records; the audit also recomputes it with its own accountant (``recompute``) and
  verifies the ledger (``ledger_audit``).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import torch
from torch.utils.data import DataLoader

from fedflm.audit.ledger.recompute import SAME_KIND, Block, recompute
from fedflm.config import RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import head_linear, pooled_classifier, set_head
from fedflm.privacy.prototypes import noisy_class_sums, prototype_head
from fedflm.train.augment import augment_loader
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache
from fedflm.train.local import train_local
from fedflm.train.phases import phase_of_round
from fedflm.train.plan import round_module
from fedflm.train.resample import resample_loader
from fedflm.train.schedule import round_lr

Round = tuple[float, float, int]  # (noise multiplier, sample rate, noisy steps); (0, 0, steps) without DP
AUDIT_OWNER = "audit-canary-client"


class RoundTrainer(Protocol):
    """Trains ``module`` on ``loader`` in place for one round (or releases the prototype sums)."""

    def train_round(self, module: torch.nn.Module, loader: DataLoader, rnd: int,
                    device: torch.device) -> Round: ...

    def prototypes(self, features: torch.Tensor, labels: torch.Tensor, classes: int,
                   rnd: int) -> tuple[torch.Tensor, Round]: ...

    def claimed_epsilon(self, history: list[Round]) -> float: ...


def round_train_config(cfg: RunConfig, rnd: int) -> TrainConfig:
    """The round's training settings as the node uses them (its learning rate from the schedule)."""
    return replace(cfg.train, lr=round_lr(cfg.train, cfg.fed.rounds, min(rnd, cfg.fed.rounds)))


class PlainTrainer:
    """No DP: the claim is epsilon = infinity."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg

    def train_round(self, module: torch.nn.Module, loader: DataLoader, rnd: int,
                    device: torch.device) -> Round:
        result = train_local(module, loader, round_train_config(self.cfg, rnd), device,
                             proximal_mu=self.cfg.agg.proximal_mu)
        return (0.0, 0.0, result.steps)

    def prototypes(self, features: torch.Tensor, labels: torch.Tensor, classes: int,
                   rnd: int) -> tuple[torch.Tensor, Round]:
        return noisy_class_sums(features, labels, classes, 0.0, None), (0.0, 1.0, 1)

    def claimed_epsilon(self, history: list[Round]) -> float:
        return math.inf


class SampleDPTrainer:
    """DP-SGD through the ClientApp's own path, recorded in a throw-away ledger.

    ``seed`` None: the noise (and Poisson sampling) draws from a fresh random seed each round, as
    a node without an owner seed does; a seed makes a study reproducible (secure mode ignores it)."""

    def __init__(self, cfg: RunConfig, state_dir: Path, seed: int | None = None) -> None:
        from fedflm.privacy.state import OwnerPrivacy

        self.cfg, self.seed = cfg, seed
        self.owner = OwnerPrivacy(state_dir / AUDIT_OWNER, AUDIT_OWNER, cfg.privacy.delta,
                                  cfg.privacy.accountant, None)

    @property
    def ledger_dir(self) -> Path:
        return self.owner.ledger_path.parent

    def _noise_seed(self, rnd: int) -> int | None:
        if self.cfg.privacy.secure_mode:
            return None
        return secrets.randbits(63) if self.seed is None else self.seed * 7919 + rnd

    def _last(self) -> Round:
        e = self.owner.entries()[-1]
        return (float(e["noise_multiplier"]), float(e["sample_rate"]), int(e["steps"]))

    def train_round(self, module: torch.nn.Module, loader: DataLoader, rnd: int,
                    device: torch.device) -> Round:
        from fedflm.privacy.federation import train_private

        train_cfg = round_train_config(self.cfg, rnd)
        train_private(self.cfg, self.owner, len(loader.dataset), rnd,  # type: ignore[arg-type]
                      lambda privatize: train_local(module, loader, train_cfg, device, privatize,
                                                    proximal_mu=self.cfg.agg.proximal_mu),
                      noise_seed=self._noise_seed(rnd))
        return self._last()

    def prototypes(self, features: torch.Tensor, labels: torch.Tensor, classes: int,
                   rnd: int) -> tuple[torch.Tensor, Round]:
        from fedflm.privacy.federation import private_prototypes

        seed = self._noise_seed(rnd)
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        secure = self.cfg.privacy.secure_mode
        sums, _ = private_prototypes(self.cfg, self.owner, len(labels), rnd,
                                     lambda sigma: noisy_class_sums(features, labels, classes, sigma, gen,
                                                                    secure_mode=secure))
        return sums, self._last()

    def claimed_epsilon(self, history: list[Round]) -> float:
        """The epsilon the training side recorded after the last round."""
        return float(self.owner.entries()[-1]["epsilon"])


def train_like_a_node(cfg: RunConfig, model: torch.nn.Module, data: TokenizedDataset, rounds: int,
                      trainer: RoundTrainer, device: torch.device, client: int = 0,
                      cache: FrozenCache | None = None) -> list[Round]:
    """Rounds 1..``rounds`` of client ``client`` on ``data``, each as the ClientApp runs it
    (clients/app.py ``_train_round`` / ``_proto_round``); returns each round's (sigma, q, steps).

    ``cache`` None: a fresh :class:`FrozenCache` of ``model`` over ``data`` (memory only, as the
    node's owner cache); simulations/audit_head_capacity.py passes one holding chosen vectors."""
    cache = cache if cache is not None else FrozenCache(pooled_classifier(model), data, device)
    fixed_noise = cfg.privacy.noise_multiplier is not None
    history: list[Round] = []
    for rnd in range(1, rounds + 1):
        if phase_of_round(cfg.train, cfg.fed.rounds, rnd, cfg.privacy.dp, fixed_noise) == "proto":
            x, y = cache.vectors()
            sums, entry = trainer.prototypes(x, y, head_linear(model).out_features, rnd)
            head = prototype_head(sums, cfg.train.proto_scale)  # the server's step, for a federation of one
            set_head(model, head["weight"], head["bias"])
        else:
            seed = cfg.fed.round_seed(rnd, client)
            module, loader, _ = round_module(model, data, cfg, rnd, seed, cache)
            loader = resample_loader(loader, cfg.train.resample, seed, dp_sample=cfg.privacy.dp == "sample")
            loader = augment_loader(loader, cfg.train.augment, seed)
            entry = trainer.train_round(module, loader, rnd, device)
        history.append(entry)
    return history


def cache_of_vectors(model: torch.nn.Module, data: TokenizedDataset, device: torch.device,
                     vectors: list[torch.Tensor]) -> FrozenCache:
    """A :class:`FrozenCache` over ``data`` whose sentence vectors are ``vectors`` (one per row), as
    if the frozen encoder had produced them: for studies of what a head can learn from chosen
    vectors (simulations/audit_head_capacity.py). Valid while the LoRA weights are the identity
    (head mode), which is what the cache's key records."""
    if len(vectors) != len(data):
        raise ConfigError(f"need one vector per row: {len(vectors)} vectors for {len(data)} rows")
    cache = FrozenCache(pooled_classifier(model), data, device)
    cache._features, cache._features_key = list(vectors), cache._lora_key()
    return cache


def recomputed_epsilon(cfg: RunConfig, history: list[Round]) -> float:
    """The audit's own value for ``history`` (infinity without DP)."""
    if cfg.privacy.dp == "none":
        return math.inf
    blocks = [Block(s, q, n, cfg.privacy.delta) for s, q, n in history]
    name = SAME_KIND[cfg.privacy.accountant]
    value = recompute(blocks, every_entry=False, accountants=(name,)).final(name)
    if value is None:
        raise ConfigError(f"cannot recompute the claimed epsilon with {name}")
    return value


def default_round_trainer(cfg: RunConfig, state_dir: Path, seed: int | None = None) -> RoundTrainer:
    """The trainer for ``cfg.privacy.dp`` ("none" or "sample")."""
    if cfg.privacy.dp == "none":
        return PlainTrainer(cfg)
    if cfg.privacy.dp != "sample":
        raise ConfigError(f"audit empirical supports dp=sample or dp=none, got dp={cfg.privacy.dp!r} "
                          f"(client-level DP protects whole clients; audit it with client canaries)")
    return SampleDPTrainer(cfg, state_dir, seed)

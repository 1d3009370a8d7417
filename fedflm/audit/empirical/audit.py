"""`fedflm audit empirical`: an epsilon lower bound measured on one training run.

A correct-looking ledger proves nothing if the DP path itself is broken (no
noise, clipping skipped, the wrong sample rate). This audit measures leakage
instead of computing it:

1. take the audited client's data (the run's data config, partition, seed);
2. draw ``m`` canaries, include each with probability 1/2 (``canaries``);
3. train that client alone for ``rounds`` rounds as a node of the run trains
   them (``training.train_like_a_node``): the run's model, train mode (head /
   LoRA / lp-ft, the prototype round), frozen-feature cache, optimizer, batch
   size, local epochs/steps and DP settings -- a shortened federation of one,
   the strongest position for an attacker, since no other client's update
   dilutes the canaries' influence;
4. score every canary by minus its loss under the final model;
5. turn top-k/bottom-k guesses into an epsilon lower bound at the run's
   delta (``one_run``, Steinke, Nasr & Jagielski 2023).

The bound holds with the stated confidence over the coin flips. If it
exceeds the epsilon claimed for the rounds trained, the claim is false.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader

from fedflm.audit.empirical.canaries import KINDS, Canaries, Encoder, make_canaries
from fedflm.audit.bounds.one_run import GUESS_SIDES, OneRunResult, audit_scores, default_candidates
from fedflm.audit.ledger.audit import AuditOptions, audit_ledgers
from fedflm.audit.empirical.training import (RoundTrainer, default_round_trainer, recomputed_epsilon,
                                             train_like_a_node)
from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.fl.client_data import client_partition
from fedflm.models.lora import build_model, load_tokenizer, pooled_classifier, resolve_device
from fedflm.train.batching import PadCollator, TokenizedDataset
from fedflm.train.cache import run_frozen


@dataclass(frozen=True)
class EmpiricalConfig:
    """How to audit (the training settings come from the run's RunConfig)."""

    canaries: int = 500
    kind: str = "unique-token"
    confidence: float = 0.95
    rounds: int | None = None  # None: the run's rounds
    client: int = 0
    seed: int | None = None  # None: coin flips from the OS CSPRNG
    delta: float | None = None  # None: the run's delta
    #: None: the run's ``feature_cache`` (what its nodes do; on by default): a head round trains on
    #: frozen sentence vectors computed once. False: the encoder runs every step (same numbers with
    #: dropout off; tests/audit/test_audit_empirical_cache.py). True: cached even if the run says not.
    feature_cache: bool | None = None
    #: which canaries to guess on (``one_run.default_candidates``): "both" (the k lowest and highest
    #: losses), "out" (only the k highest losses, guessed excluded: abstain on the rest) or "in"
    guess: str = "both"

    def __post_init__(self) -> None:
        if self.guess not in GUESS_SIDES:
            raise ConfigError(f"guess must be one of {', '.join(GUESS_SIDES)}, got {self.guess!r}")
        if self.canaries < 2:
            raise ConfigError(f"canaries must be >= 2, got {self.canaries}")
        if self.kind not in KINDS:
            raise ConfigError(f"canary kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.rounds is not None and self.rounds < 1:
            raise ConfigError(f"rounds must be >= 1, got {self.rounds}")
        if self.client < 0:
            raise ConfigError(f"client must be >= 0, got {self.client}")
        if self.delta is not None and not 0 < self.delta < 1:
            raise ConfigError(f"delta must be in (0, 1), got {self.delta}")


@dataclass(frozen=True)
class EmpiricalResult:
    """The measured lower bound next to the claim it tests."""

    bound: OneRunResult
    claimed_epsilon: float  # what the training side's ledger recorded; math.inf without DP
    recomputed_epsilon: float  # the audit's own accountant on the recorded history
    dp: str
    rounds: int
    history: tuple[tuple[float, float, int], ...]  # (sigma, q, steps) per round
    train_examples: int
    canaries_included: int
    canary_kind: str
    client: int
    auc: float
    wall_time_s: float
    ledger_findings: tuple[str, ...] = ()  # failures of the throw-away ledger's verification
    scores: tuple[float, ...] = ()  # per canary, in canary order: minus its loss (what the bound ranks)
    train_mode: str = "head"  # the run's train mode, as the node trains
    feature_cache: bool = True  # whether the frozen part's output was cached (the node's setting)
    guess: str = "both"  # the side(s) guessed on (EmpiricalConfig.guess)

    @property
    def violated(self) -> bool:
        """True when the measured bound exceeds the claim: the DP claim is false."""
        return self.bound.epsilon_lower_bound > min(self.claimed_epsilon, self.recomputed_epsilon)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("claimed_epsilon", "recomputed_epsilon"):
            d[key] = None if math.isinf(d[key]) else d[key]
        d["violated"] = self.violated
        return d

    def describe(self) -> str:
        claim = ("inf (no DP)" if math.isinf(self.claimed_epsilon) else
                 f"{self.claimed_epsilon:.3f} (audit recomputes {self.recomputed_epsilon:.3f})")
        verdict = "VIOLATED: measured leakage exceeds the claim" if self.violated else "consistent with the claim"
        return (f"empirical {self.bound.describe()}\nclaimed epsilon {claim} for {self.rounds} round(s) "
                f"({self.dp}); {verdict}; membership AUC {self.auc:.3f}; wall time {self.wall_time_s:.1f} s"
                + "".join(f"\nledger: {f}" for f in self.ledger_findings))


def _training_set(pool: Dataset, canaries: Canaries) -> Dataset:
    rows = canaries.training_rows()
    return Dataset.from_dict({"text": list(pool["text"]) + list(rows["text"]),
                              "label": [int(y) for y in pool["label"]] + list(rows["label"])})


@torch.no_grad()
def canary_losses(model: torch.nn.Module, tokenizer: Any, canaries: Canaries, max_length: int,
                  device: torch.device, batch_size: int = 64) -> np.ndarray:
    """Per-canary cross-entropy under ``model`` (the membership signal)."""
    data = TokenizedDataset(Dataset.from_dict({"text": list(canaries.texts), "label": list(canaries.labels)}),
                            tokenizer, max_length)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=PadCollator(data.pad_id))
    model.to(device).eval()
    out = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        out.append(torch.nn.functional.cross_entropy(logits.float(), batch["labels"], reduction="none").cpu())
    return torch.cat(out).numpy()


def public_encoder(model: torch.nn.Module, tokenizer: Any, max_length: int, device: torch.device) -> Encoder:
    """Texts -> the untrained model's pooled sentence vectors (the public base encoder, eval mode).

    Called before any training, so no owner data has touched ``model``; far-token canaries are
    chosen with it."""
    def encode(texts: Sequence[str]) -> np.ndarray:
        rows = TokenizedDataset(Dataset.from_dict({"text": list(texts), "label": [0] * len(texts)}),
                                tokenizer, max_length)
        return torch.stack(run_frozen(pooled_classifier(model), rows, device, None)).numpy()
    return encode


def _auc(scores: np.ndarray, included: np.ndarray) -> float:
    pos, neg = scores[included], scores[~included]
    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def run_empirical_audit(cfg: RunConfig, audit: EmpiricalConfig,
                        trainer: RoundTrainer | None = None) -> EmpiricalResult:
    """Train one client with canaries under ``cfg`` and bound its epsilon from below."""
    t0 = time.perf_counter()
    if audit.feature_cache is not None:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, feature_cache=audit.feature_cache))
    if audit.client >= cfg.fed.clients:
        raise ConfigError(f"client must be < clients ({cfg.fed.clients}), got {audit.client}")
    rounds = audit.rounds or cfg.fed.rounds
    pool, names = client_partition(cfg.data, audit.client, cfg.fed.clients, cfg.fed.seed)
    tokenizer = load_tokenizer(cfg.model)
    model = build_model(cfg.model, tuple(names), cfg.fed.seed)
    device = resolve_device(cfg.model.device)
    canaries, rest = make_canaries(audit.kind, audit.canaries, tokenizer=tokenizer, pool=pool,
                                   num_labels=len(names), seed=audit.seed,
                                   encode=public_encoder(model, tokenizer, cfg.data.max_length, device))
    train_set = TokenizedDataset(_training_set(rest, canaries), tokenizer, cfg.data.max_length)
    with tempfile.TemporaryDirectory(prefix="fedflm-audit-") as state:
        trainer = trainer or default_round_trainer(cfg, Path(state), audit.seed)
        history = train_like_a_node(cfg, model, train_set, rounds, trainer, device, audit.client)
        claimed = trainer.claimed_epsilon(history)
        findings = _verify_ledger(trainer)
    losses = canary_losses(model, tokenizer, canaries, cfg.data.max_length, device)
    included = np.asarray(canaries.included)
    delta = audit.delta if audit.delta is not None else cfg.privacy.delta
    bound = audit_scores(-losses, included, delta=delta, confidence=audit.confidence,
                         candidates=default_candidates(len(losses), audit.guess))
    return EmpiricalResult(
        bound=bound, claimed_epsilon=claimed, recomputed_epsilon=recomputed_epsilon(cfg, history),
        dp=cfg.privacy.dp, rounds=rounds,
        history=tuple(history), train_examples=len(train_set), canaries_included=int(included.sum()),
        canary_kind=audit.kind, client=audit.client, auc=_auc(-losses, included),
        wall_time_s=time.perf_counter() - t0, ledger_findings=findings,
        scores=tuple(float(-x) for x in losses), train_mode=cfg.train.train_mode,
        feature_cache=cfg.train.feature_cache, guess=audit.guess)


def _verify_ledger(trainer: RoundTrainer) -> tuple[str, ...]:
    """Failures of ``audit ledger`` on the ledger the DP trainer wrote (none without DP)."""
    ledger_dir = getattr(trainer, "ledger_dir", None)
    if ledger_dir is None:
        return ()
    audit = audit_ledgers([ledger_dir], AuditOptions(every_entry=False))
    return tuple(f.render() for f in audit.findings if f.failed)

"""The ClientApp's ``--task causal-lm`` round (issue 25): a simulated owner trains the LoRA adapter
on its own instruction/response or plain-text records (simulated or deployed) and returns only the adapter tensors.

``clients/app.py`` sends a message here when its run config says ``task = causal-lm``. The owner's
side is the classification task's: the request is checked against the owner's policy
(:func:`fedflm.owner.policy.check_request`), the owner's delta, accountant, cap and state replace
the server's (:func:`~fedflm.owner.policy.effective_config`), replays and rounds are refused from
its ledger, and under ``dp = sample`` the round goes through
:func:`fedflm.privacy.federation.train_private` (ledger fsync'd before the update leaves). A
record is one privacy unit (fedflm/causal/objective.py). What the reply carries is
:mod:`fedflm.owner.reply`'s. A deployed node (``fedflm client start``) reads its records from its encrypted
store (``fedflm data prepare --task causal-lm``), decrypted in memory for the round; it never reads a file that
the server's request names (``dataset``, ``eval_file`` are the simulation's and the server's own).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from flwr.app import Context, Message

from clients.node import NodeRound
from clients.task_round import batch_seed, local_round, serve_round
from fedflm.causal.config import CausalRunConfig
from fedflm.causal.encode import RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.split import split_records
from fedflm.causal.train import LocalSpec, record_loader, train_causal
from fedflm.models.lora import get_adapter_state, set_adapter_state
from fedflm.owner.task_store import read_lm_records
from fedflm.protect.keys import read_key_file
from fedflm.privacy.federation import PrivacyOutcome
from fedflm.train.local import TrainResult


@lru_cache(maxsize=1)
def _model(name: str, lora_r: int, lora_alpha: int, target_modules: tuple[str, ...]) -> tuple[Any, Any]:
    """One model per worker process; every round overwrites all LoRA tensors."""
    return load_causal_lm(name, lora_r, lora_alpha, target_modules)


@lru_cache(maxsize=64)  # one entry per simulated owner this worker serves
def owner_records(cfg: CausalRunConfig, partition_id: int) -> RecordDataset:
    """This simulated owner's encoded records (called with :func:`data_key`'s key)."""
    owners, _ = split_records(cfg)
    _, tok = _model(cfg.model, cfg.lora_r, cfg.lora_alpha, cfg.target_modules)
    return RecordDataset(owners[partition_id], tok, cfg.max_length, cfg.max_sequences)


#: the settings that do not decide an owner's records; every other field (a new one too) is part of the key
NOT_DATA = ("rounds", "local_steps", "batch_size", "lr", "out", "round_timeout", "prompts", "max_new_tokens", "privacy")
_DEFAULTS = CausalRunConfig()


def data_key(cfg: CausalRunConfig) -> CausalRunConfig:
    """The records cache's key: ``cfg`` with the :data:`NOT_DATA` settings at their defaults (so that the
    cache outlives run ids, rounds and seeds of noise, and a new setting cannot share an entry unseen)."""
    return dataclasses.replace(cfg, **{name: getattr(_DEFAULTS, name) for name in NOT_DATA})


def _records(node: NodeRound, cfg: CausalRunConfig, tok: Any) -> RecordDataset:
    """A deployed owner's records from its store (the request's ``dataset`` is never read), else the simulated
    owner's share of the run's data set."""
    s = node.settings
    if s.deployed:
        records = read_lm_records(str(s.store), read_key_file(str(s.key_file)))
        return RecordDataset(records, tok, cfg.max_length, cfg.max_sequences)
    return owner_records(data_key(cfg), node.partition_id)


def _train(node: NodeRound, cfg: CausalRunConfig,
           arrays: dict) -> tuple[dict, TrainResult, PrivacyOutcome | None, int]:
    """One round of local training on the owner's records (one record = one privacy unit)."""
    model, tok = _model(cfg.model, cfg.lora_r, cfg.lora_alpha, cfg.target_modules)
    data = _records(node, cfg, tok)
    set_adapter_state(model, arrays)
    loader = record_loader(data, cfg.batch_size, tok.pad_token_id, batch_seed(node))
    spec = LocalSpec(cfg.local_steps, cfg.batch_size, cfg.lr)
    result, privacy = local_round(node, len(data), lambda privatize=None: train_causal(model, loader, spec, privatize))
    return get_adapter_state(model), result, privacy, len(data)


def train_causal_lm(msg: Message, context: Context) -> Message:
    """The ClientApp's train handler for ``task = causal-lm``."""
    return serve_round(msg, context, CausalRunConfig, _train)

"""The ClientApp's ``--task causal-lm`` round (issue 25): a simulated owner trains the LoRA adapter
on its own instruction/response or plain-text records and returns only the adapter tensors.

``clients/app.py`` sends a message here when its run config says ``task = causal-lm``. The owner's
side is the classification task's: the request is checked against the owner's policy
(:func:`fedflm.owner.policy.check_request`), the owner's delta, accountant, cap and state replace
the server's (:func:`~fedflm.owner.policy.effective_config`), replays and rounds are refused from
its ledger, and under ``dp = sample`` the round goes through
:func:`fedflm.privacy.federation.train_private` (ledger fsync'd before the update leaves). A
record is one privacy unit (fedflm/causal/objective.py). What the reply carries is
:mod:`fedflm.owner.reply`'s. Deployed nodes refuse the task: it is built for simulation only.
"""

from __future__ import annotations

import dataclasses
import secrets
from functools import lru_cache
from typing import Any

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict

from clients.node import NodeRound, owner_privacy, owner_settings, refusal, round_guard, round_seed
from fedflm.causal.config import CausalRunConfig
from fedflm.causal.encode import RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.split import split_records
from fedflm.causal.train import LocalSpec, record_loader, train_causal
from fedflm.deploy.node_data import is_deployed
from fedflm.errors import ConfigError, PolicyRefused, PrivacyBudgetExceeded
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg_client import is_masked
from fedflm.models.lora import get_adapter_state, set_adapter_state
from fedflm.owner.policy import check_request, effective_config
from fedflm.owner.refusal import Refusal
from fedflm.owner.reply import reply_metrics, reply_privacy
from fedflm.privacy.federation import PrivacyOutcome, train_private
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
NOT_DATA = ("rounds", "local_steps", "batch_size", "lr", "out", "prompts", "max_new_tokens", "privacy")
_DEFAULTS = CausalRunConfig()


def data_key(cfg: CausalRunConfig) -> CausalRunConfig:
    """The records cache's key: ``cfg`` with the :data:`NOT_DATA` settings at their defaults (so that the
    cache outlives run ids, rounds and seeds of noise, and a new setting cannot share an entry unseen)."""
    return dataclasses.replace(cfg, **{name: getattr(_DEFAULTS, name) for name in NOT_DATA})


def _request(msg: Message) -> tuple[CausalRunConfig, int]:
    config = msg.content["config"]
    return (CausalRunConfig.from_flat({k: v for k, v in config.items() if k != "server-round"}),
            int(config["server-round"]))


def _train_round(node: NodeRound, cfg: CausalRunConfig, model: Any, pad_id: int,
                 data: RecordDataset) -> tuple[TrainResult, PrivacyOutcome | None]:
    """One round of local training; under DP-SGD through the owner's plan, guard and ledger."""
    s, run_id = node.settings, node.cfg.privacy.ledger_run_id
    seed = round_seed(s, f"batches|{run_id}", node.server_round)
    loader = record_loader(data, cfg.batch_size, pad_id, seed if seed is not None else secrets.randbits(63))
    spec = LocalSpec(cfg.local_steps, cfg.batch_size, cfg.lr)
    run = lambda privatize=None: train_causal(model, loader, spec, privatize)  # noqa: E731
    if node.cfg.privacy.dp != "sample":
        return run(), None
    return train_private(node.cfg, owner_privacy(node), len(data), node.server_round, run, guard=round_guard(node),
                         publish_ledger=s.policy.publish_ledger, noise_seed=round_seed(s, run_id, node.server_round))


def train_causal_lm(msg: Message, context: Context) -> Message:
    """The ClientApp's train handler for ``task = causal-lm``."""
    try:
        cfg, server_round = _request(msg)
    except (ConfigError, ValueError, KeyError, TypeError) as exc:
        return refusal(msg, None, Refusal.REQUEST, f"malformed request: {exc}")
    if is_deployed(context.node_config):
        return refusal(msg, None, Refusal.TASK, "task causal-lm is built for simulation only; this node does "
                                                 "not serve it")
    requested = cfg.as_run_config()
    settings, pid = owner_settings(context, requested)
    node = NodeRound(settings, requested, server_round, pid)
    try:
        check_request(settings.policy, node.cfg, deployed=False, masked=is_masked())
        node = NodeRound(settings, effective_config(node.cfg, settings), server_round, pid)
        model, tok = _model(cfg.model, cfg.lora_r, cfg.lora_alpha, cfg.target_modules)
        data = owner_records(data_key(cfg), pid)
        set_adapter_state(model, from_record(msg.content["arrays"]))
        result, privacy = _train_round(node, cfg, model, tok.pad_token_id, data)
    except PolicyRefused as exc:
        return refusal(msg, node, exc.code, str(exc))
    except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
        return refusal(msg, node, Refusal.BUDGET, str(exc))
    metrics = reply_metrics(node.cfg.privacy.dp, pid, loss=result.loss, num_examples=len(data), privacy=privacy)
    reply = RecordDict({"arrays": to_record(get_adapter_state(model)), "metrics": MetricRecord(metrics)})
    if privacy is not None:
        reply["privacy"] = ConfigRecord(reply_privacy(privacy))
    return Message(content=reply, reply_to=msg)

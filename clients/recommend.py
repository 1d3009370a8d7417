"""The ClientApp's ``--task recommend`` round (issue 25, part 2): a simulated owner trains the
bi-encoder's towers on its own users' interactions and returns only the tower tensors.

``clients/app.py`` sends a message here when its run config says ``task = recommend``. The owner's
side is the classification task's: the request is checked against the owner's policy
(:func:`fedflm.owner.policy.check_request`), the owner's delta, accountant, cap and state replace
the server's (:func:`~fedflm.owner.policy.effective_config`), replays and rounds are refused from
its ledger, and under ``dp = sample`` the round goes through
:func:`fedflm.privacy.federation.train_private` (ledger fsync'd before the update leaves) with
``num_examples`` = the owner's number of *users*: one user is one privacy unit (q = batch / users;
a user's record gradients are averaged before clipping, fedflm/recommend/users.py). What the reply
carries is :mod:`fedflm.owner.reply`'s. Deployed nodes refuse the task: it is built for simulation only.
"""

from __future__ import annotations

import dataclasses
import secrets
from functools import lru_cache
from typing import Any

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict

from clients.node import NodeRound, owner_privacy, owner_settings, refusal, round_guard, round_seed
from fedflm.deploy.node_data import is_deployed
from fedflm.errors import ConfigError, PolicyRefused, PrivacyBudgetExceeded
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg_client import is_masked
from fedflm.owner.policy import check_request, effective_config
from fedflm.owner.refusal import Refusal
from fedflm.owner.reply import reply_metrics, reply_privacy
from fedflm.privacy.federation import PrivacyOutcome, train_private
from fedflm.recommend.config import TASK, RecommendRunConfig
from fedflm.recommend.heldout import set_towers_state, towers_state
from fedflm.recommend.model import TwoTower, encode_texts, load_encoder
from fedflm.recommend.split import split_users
from fedflm.recommend.train import train_towers
from fedflm.recommend.users import user_dataset, user_loader
from fedflm.train.documents import Documents
from fedflm.train.local import TrainResult


@lru_cache(maxsize=1)
def _encoder(name: str, pooling: str) -> tuple[Any, Any]:
    """One frozen encoder per worker process."""
    return load_encoder(name, pooling)


#: the settings that do not decide an owner's data set; every other field (a new one too) is part of the key
NOT_DATA = ("rounds", "local_steps", "batch_size", "lr", "out", "embed_dim", "privacy")
_DEFAULTS = RecommendRunConfig()


def data_key(cfg: RecommendRunConfig) -> RecommendRunConfig:
    """The cache key of an owner's encoded users: ``cfg`` with the :data:`NOT_DATA` settings at their defaults."""
    return dataclasses.replace(cfg, **{name: getattr(_DEFAULTS, name) for name in NOT_DATA})


@lru_cache(maxsize=64)  # one entry per simulated owner this worker serves
def owner_users(cfg: RecommendRunConfig, partition_id: int) -> Documents:
    """This simulated owner's users, their texts encoded once by the frozen encoder."""
    users = split_users(cfg).owners[partition_id]
    encoder, tok = _encoder(cfg.model, cfg.pooling)
    texts = [t for u in users for e in u.examples for t in (e.history, e.candidate)]
    return user_dataset(users, encode_texts(encoder, tok, texts, cfg.max_length))


def _request(msg: Message) -> tuple[RecommendRunConfig, int]:
    config = msg.content["config"]
    return (RecommendRunConfig.from_flat({k: v for k, v in config.items() if k != "server-round"}),
            int(config["server-round"]))


def _train_round(node: NodeRound, cfg: RecommendRunConfig, model: TwoTower,
                 data: Documents) -> tuple[TrainResult, PrivacyOutcome | None]:
    """One round of local training; under DP-SGD through the owner's plan, guard and ledger (unit: the user)."""
    s, run_id = node.settings, node.cfg.privacy.ledger_run_id
    seed = round_seed(s, f"batches|{run_id}", node.server_round)
    loader = user_loader(data, cfg.batch_size, seed if seed is not None else secrets.randbits(63))
    run = lambda privatize=None: train_towers(model, loader, cfg.local_steps, cfg.lr, privatize)  # noqa: E731
    if node.cfg.privacy.dp != "sample":
        return run(), None
    return train_private(node.cfg, owner_privacy(node), len(data), node.server_round, run, guard=round_guard(node),
                         publish_ledger=s.policy.publish_ledger, noise_seed=round_seed(s, run_id, node.server_round))


def train_recommend(msg: Message, context: Context) -> Message:
    """The ClientApp's train handler for ``task = recommend``."""
    try:
        cfg, server_round = _request(msg)
    except (ConfigError, ValueError, KeyError, TypeError) as exc:
        return refusal(msg, None, Refusal.REQUEST, f"malformed request: {exc}")
    if is_deployed(context.node_config):
        return refusal(msg, None, Refusal.TASK, f"task {TASK} is built for simulation only; this node does "
                                                "not serve it")
    requested = cfg.as_run_config()
    settings, pid = owner_settings(context, requested)
    node = NodeRound(settings, requested, server_round, pid)
    try:
        check_request(settings.policy, node.cfg, deployed=False, masked=is_masked())
        node = NodeRound(settings, effective_config(node.cfg, settings), server_round, pid)
        data = owner_users(data_key(cfg), pid)
        encoder, _ = _encoder(cfg.model, cfg.pooling)
        model = TwoTower(int(encoder.config.hidden_size), cfg.embed_dim, seed=0)
        set_towers_state(model, from_record(msg.content["arrays"]))
        result, privacy = _train_round(node, cfg, model, data)
    except PolicyRefused as exc:
        return refusal(msg, node, exc.code, str(exc))
    except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
        return refusal(msg, node, Refusal.BUDGET, str(exc))
    metrics = reply_metrics(node.cfg.privacy.dp, pid, loss=result.loss, num_examples=len(data), privacy=privacy)
    reply = RecordDict({"arrays": to_record(towers_state(model)), "metrics": MetricRecord(metrics)})
    if privacy is not None:
        reply["privacy"] = ConfigRecord(reply_privacy(privacy))
    return Message(content=reply, reply_to=msg)

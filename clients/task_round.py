"""The owner's round for the non-classification tasks (``clients/causal_lm.py``, ``clients/recommend.py``):
one place for what both must do the same way, so that a fix to the owner's side reaches every task.

- The request is parsed with the task's config (a malformed one is refused as ``request``).
- A deployed node (issue 25: ``fedflm client start`` on a store from ``fedflm data prepare --task``) serves only
  the task its store holds: any other task is refused as ``task`` before anything but the manifest is read;
  its policy's ``tasks`` list, when set, names the tasks it accepts (``causal-lm``, ``recommend``).
- The request is checked against the owner's policy (:func:`fedflm.owner.policy.check_request`) and the
  owner's delta, accountant, cap and state replace the server's (:func:`~fedflm.owner.policy.effective_config`);
  a deployed owner's delta must stay at most 1/(10 n) for its n privacy units (records, users).
- Under ``dp = sample`` the round goes through :func:`fedflm.privacy.federation.train_private` (the ledger is
  fsync'd before the update leaves); a refusal or an exhausted budget sends nothing trained. The randomness of a
  deployed round (batches, noise, dropout, sampled negatives) is the owner's, never the server's seed.
- The reply carries the task's tensors plus :mod:`fedflm.owner.reply`'s metrics and privacy record; a deployed
  owner's console says what was trained (its DP plan on a run's first round) or refused.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any, Callable

import torch

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict

from clients.node import (NodeRound, announce_round, owner_privacy, owner_settings, refusal, require_store_task,
                          round_guard, round_seed)
from fedflm.errors import ConfigError, PolicyRefused, PrivacyBudgetExceeded
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg_client import is_masked
from fedflm.owner.settings import OwnerSettings
from fedflm.owner.policy import check_examples, check_request, effective_config
from fedflm.owner.refusal import Refusal
from fedflm.owner.reply import reply_metrics, reply_privacy
from fedflm.privacy.federation import PrivacyOutcome, train_private
from fedflm.train.local import TrainResult


#: what a task trains in one round: (node, request config, global tensors) -> (tensors to send, result,
#: privacy outcome or None, number of privacy units the owner holds)
TrainFn = Callable[[NodeRound, Any, dict], tuple[dict, TrainResult, "PrivacyOutcome | None", int]]


def owner_seed(node: NodeRound, purpose: str, server_round: int | None = None) -> int:
    """A seed of the owner's for ``purpose`` in this run (and round, by default): reproducible when the owner's
    settings seed it (secure mode off), else from the OS. Never the server's seed."""
    rnd = node.server_round if server_round is None else server_round
    seed = round_seed(node.settings, f"{purpose}|{node.cfg.privacy.ledger_run_id}", rnd)
    return seed if seed is not None else secrets.randbits(63)


def batch_seed(node: NodeRound) -> int:
    """The seed of this round's batches."""
    return owner_seed(node, "batches")


def local_round(node: NodeRound, units: int,
                run: Callable[..., TrainResult]) -> tuple[TrainResult, PrivacyOutcome | None]:
    """``run(privatize=None)`` trains one round; under DP-SGD it goes through the owner's plan, guard and
    ledger, with ``units`` privacy units (records, users) in the owner's data."""
    if node.settings.deployed:  # delta at most 1/(10 n) for the owner's n privacy units
        check_examples(node.settings.policy, units, node.cfg.privacy.dp)
    if node.cfg.privacy.dp != "sample":
        return run(), None
    s, run_id = node.settings, node.cfg.privacy.ledger_run_id
    return train_private(node.cfg, owner_privacy(node), units, node.server_round, run, guard=round_guard(node),
                         publish_ledger=s.policy.publish_ledger, noise_seed=round_seed(s, run_id, node.server_round))


def serve_round(msg: Message, context: Context, config_type: Any, train: TrainFn) -> Message:
    """The ClientApp's train handler for one task: parse, refuse or train, reply. ``config_type`` is the
    task's flat config (:class:`fedflm.task_config.FlatTaskConfig`: ``TASK``, ``from_flat``, ``as_run_config``)."""
    try:
        config = msg.content["config"]
        cfg = config_type.from_flat({k: v for k, v in config.items() if k != "server-round"})
        server_round = int(config["server-round"])
    except (ConfigError, ValueError, KeyError, TypeError) as exc:
        return refusal(msg, None, Refusal.REQUEST, f"malformed request: {exc}")
    requested = cfg.as_run_config()
    settings, pid = owner_settings(context, requested)
    node = NodeRound(settings, requested, server_round, pid)
    try:
        check_task(settings, config_type.TASK, node.cfg)
        node = NodeRound(settings, effective_config(node.cfg, settings), server_round, pid)
        if settings.deployed:  # dropout and anything else drawing from torch's global generator: the owner's
            torch.manual_seed(owner_seed(node, "globals"))
        tensors, result, privacy, units = train(node, cfg, from_record(msg.content["arrays"]))
    except PolicyRefused as exc:
        return refusal(msg, node, exc.code, str(exc))
    except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
        return refusal(msg, node, Refusal.BUDGET, str(exc))
    announce_round(node, units, privacy)
    metrics = reply_metrics(node.cfg.privacy.dp, pid, loss=result.loss, num_examples=units, privacy=privacy)
    reply = RecordDict({"arrays": to_record(tensors), "metrics": MetricRecord(metrics)})
    if privacy is not None:
        reply["privacy"] = ConfigRecord(reply_privacy(privacy))
    return Message(content=reply, reply_to=msg)


def check_task(settings: OwnerSettings, task: str, requested: Any) -> None:
    """The request against the owner: a deployed store must hold ``task``; the policy's ``tasks`` list (when set)
    must name it; then the policy's other checks (:func:`~fedflm.owner.policy.check_request`: mode, delta,
    accountant, rounds, noise, model, secure aggregation, and on a deployed node the epsilon cap)."""
    if settings.deployed:
        require_store_task(settings, task)
    policy = settings.policy
    if policy.tasks and task not in policy.tasks:
        raise PolicyRefused(Refusal.TASK, f"task {task!r} is not one this owner accepts ({', '.join(policy.tasks)})")
    # the tasks list was checked above against the task's name (a task request carries no classification dataset)
    check_request(dataclasses.replace(policy, tasks=()), requested, deployed=settings.deployed, masked=is_masked())

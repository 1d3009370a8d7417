"""The owner's round for the non-classification tasks (``clients/causal_lm.py``, ``clients/recommend.py``):
one place for what both must do the same way, so that a fix to the owner's side reaches every task.

- The request is parsed with the task's config (a malformed one is refused as ``request``); a deployed
  node refuses the task (simulation only).
- The request is checked against the owner's policy (:func:`fedflm.owner.policy.check_request`) and the
  owner's delta, accountant, cap and state replace the server's (:func:`~fedflm.owner.policy.effective_config`).
- Under ``dp = sample`` the round goes through :func:`fedflm.privacy.federation.train_private` (the ledger is
  fsync'd before the update leaves); a refusal or an exhausted budget sends nothing trained.
- The reply carries the task's tensors plus :mod:`fedflm.owner.reply`'s metrics and privacy record.
"""

from __future__ import annotations

import secrets
from typing import Any, Callable

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
from fedflm.train.local import TrainResult


#: what a task trains in one round: (node, request config, global tensors) -> (tensors to send, result,
#: privacy outcome or None, number of privacy units the owner holds)
TrainFn = Callable[[NodeRound, Any, dict], tuple[dict, TrainResult, "PrivacyOutcome | None", int]]


def batch_seed(node: NodeRound) -> int:
    """The seed of this round's batches: reproducible when the owner's settings seed it, else from the OS."""
    seed = round_seed(node.settings, f"batches|{node.cfg.privacy.ledger_run_id}", node.server_round)
    return seed if seed is not None else secrets.randbits(63)


def local_round(node: NodeRound, units: int,
                run: Callable[..., TrainResult]) -> tuple[TrainResult, PrivacyOutcome | None]:
    """``run(privatize=None)`` trains one round; under DP-SGD it goes through the owner's plan, guard and
    ledger, with ``units`` privacy units (records, users) in the owner's data."""
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
    if is_deployed(context.node_config):
        return refusal(msg, None, Refusal.TASK, f"task {config_type.TASK} is built for simulation only; this "
                                                "node does not serve it")
    requested = cfg.as_run_config()
    settings, pid = owner_settings(context, requested)
    node = NodeRound(settings, requested, server_round, pid)
    try:
        check_request(settings.policy, node.cfg, deployed=False, masked=is_masked())
        node = NodeRound(settings, effective_config(node.cfg, settings), server_round, pid)
        tensors, result, privacy, units = train(node, cfg, from_record(msg.content["arrays"]))
    except PolicyRefused as exc:
        return refusal(msg, node, exc.code, str(exc))
    except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
        return refusal(msg, node, Refusal.BUDGET, str(exc))
    metrics = reply_metrics(node.cfg.privacy.dp, pid, loss=result.loss, num_examples=units, privacy=privacy)
    reply = RecordDict({"arrays": to_record(tensors), "metrics": MetricRecord(metrics)})
    if privacy is not None:
        reply["privacy"] = ConfigRecord(reply_privacy(privacy))
    return Message(content=reply, reply_to=msg)

"""Direct computation of what a deployment must produce: the ClientApp's own
``train`` function called in this process for each owner, then FedAvg
(weighted by the number of examples without DP, uniform under DP) -- no Flower transport involved."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

import clients.app as client_app
from fedflm.config import RunConfig
from fedflm.fl.arrays import from_record
from fedflm.models.lora import build_model, get_adapter_state
from flower_messages import train_reply


def initial_adapter(cfg: RunConfig, label_names: tuple[str, ...]) -> "OrderedDict[str, np.ndarray]":
    """The server's initial global adapter (same seed, same builder)."""
    return get_adapter_state(build_model(cfg.model, label_names, cfg.fed.seed))


def client_update(cfg: RunConfig, node_config: dict, arrays, server_round: int,
                  run_config_overrides: dict | None = None) -> tuple["OrderedDict[str, np.ndarray]", int]:
    """One owner's round exactly as its fresh ClientApp process computes it."""
    client_app._model.cache_clear()  # a deployed ClientApp process starts without a cached model
    reply = train_reply({**cfg.to_run_config(), **(run_config_overrides or {})}, server_round, arrays, node_config)
    assert not reply.has_error(), reply.error
    metrics = reply.content["metrics"]  # the server's FedAvg weight: examples without DP, uniform under DP
    return from_record(reply.content["arrays"]), int(metrics.get("num-examples", metrics.get("dp-unit-weight", 0)))


def fedavg(updates: list[tuple["OrderedDict[str, np.ndarray]", int]]) -> "OrderedDict[str, np.ndarray]":
    total = sum(n for _, n in updates)
    return OrderedDict((k, sum(a[k].astype(np.float64) * n for a, n in updates) / total)
                       for k in updates[0][0])


def max_abs_diff(a, b) -> float:
    assert list(a) == list(b)
    return max(float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)))) for k in a)

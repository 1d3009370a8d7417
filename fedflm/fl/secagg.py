"""Secure aggregation on the server (``--secagg``): Flower's SecAgg+ workflow, one call per round.

Flower 1.42 has SecAgg+ only in its legacy workflow API: :class:`~flwr.server.workflow.SecAggPlusWorkflow`
takes a ``LegacyContext`` whose strategy answers ``configure_fit`` / ``aggregate_fit``.
:class:`SecAggFedAvg` is that strategy, and it also drives the rounds with the same ``start()`` as the
Message-API strategies (fedflm/fl/strategy.py), so the ServerApp runs either one.

Per round the workflow runs SecAgg+'s four stages (setup, share keys, collect masked vectors, unmask)
with every sampled owner as every other's neighbour. The owners send this round's change of the adapter,
clipped to +-``secagg_clip``, quantised and masked (fedflm/fl/secagg_client.py); the server removes the
masks of the sum only, and rebuilds those of owners that dropped after sharing their keys from the
others' shares, as long as at least ``threshold`` of them answer. :meth:`SecAggFedAvg.aggregate_fit`
receives the mean change (each owner weighs 1): the new global adapter is the old one plus it.

What the server sees per owner: whether it answered in each stage, its masked integers (uniformly
random without the others' masks), and the coarse ``metrics`` / ``privacy`` records of
fedflm.owner.reply. No robust rule, no per-client update norm, no client-level DP: these need each
update and are refused in the config (fedflm.config._check_secagg).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import flwr.compat.common.recorddict_compat as compat
import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.common import FitIns, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.server import ServerConfig
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey
from flwr.serverapp.strategy import Result
from flwr.serverapp.strategy.strategy_utils import sample_nodes

from fedflm.config import RunConfig
from fedflm.deploy.rounds import QuorumLost
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.dp_server import enough_clients_or_stop, error_row, ledger_copies, reply_row
from fedflm.fl.secagg_client import NAMES_KEY

__all__ = ["MOD_RANGE", "SecAggFedAvg", "SecAggHalted", "quantisation_range", "run_rounds"]

#: SecAgg+ sums masked integers modulo this (Flower's default and its largest)
MOD_RANGE = 2**32


def quantisation_range(clients: int) -> int:
    """Quantisation levels per coordinate: the largest power of 2 with ``clients`` x levels < 2**32, so
    that the sum of the quantised updates (and of their weights) never wraps around the modulus."""
    return MOD_RANGE >> math.ceil(math.log2(clients + 1))


class SecAggHalted(QuorumLost):
    """SecAgg+ stopped a round (too few owners answered to unmask the sum): the run ends cleanly."""


class _StageTap:
    """Delegates to the Grid; keeps each round's replies by SecAgg+ stage (for the per-round records)."""

    def __init__(self, grid: Any) -> None:
        self._grid = grid
        self.replies: dict[str, list[Message]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> list[Message]:
        messages = list(messages)
        stage = str(messages[0].content.config_records[RECORD_KEY_CONFIGS][Key.STAGE]) if messages else ""
        replies = list(self._grid.send_and_receive(messages, timeout=timeout))
        self.replies.setdefault(stage, []).extend(replies)
        return replies


def run_rounds(arrays: ArrayRecord, num_rounds: int, step: Callable[[int, ArrayRecord], ArrayRecord],
               evaluate_fn: Any = None) -> Result:
    """``arrays = step(r, arrays)`` for rounds 1..``num_rounds``; ``evaluate_fn(round, arrays)`` before the first
    and after each (simulation's SecAgg+ runs and deployment's, fedflm/deploy/secagg_rounds.py)."""
    if evaluate_fn:
        evaluate_fn(0, arrays)
    for server_round in range(1, num_rounds + 1):
        arrays = step(server_round, arrays)
        if evaluate_fn:
            evaluate_fn(server_round, arrays)
    return Result(arrays=arrays)


class SecAggFedAvg:
    """FedAvg over SecAgg+: a legacy strategy for :class:`SecAggPlusWorkflow` with a Message-API ``start``."""

    def __init__(self, cfg: RunConfig, *, fraction_train: float, min_train_nodes: int,
                 min_available_nodes: int) -> None:
        self.fraction_train, self.min_train_nodes = fraction_train, min_train_nodes
        self.min_available_nodes = min_available_nodes
        self.workflow = SecAggPlusWorkflow(
            num_shares=1.0, reconstruction_threshold=cfg.agg.secagg_threshold, max_weight=1.0,
            clipping_range=cfg.agg.secagg_clip, quantization_range=quantisation_range(cfg.fed.clients),
            modulus_range=MOD_RANGE, timeout=cfg.fed.round_timeout)
        self.last_round: dict[str, Any] = {}
        self.sampled = 0
        self.post_aggregate: Any = None  # as in fedflm.fl.strategy.Recording
        self._grid: Any = None
        self._train_config: dict[str, Any] = {}
        self._names: list[str] = []
        self._global: dict[str, np.ndarray] = {}
        self._aggregate: dict[str, np.ndarray] | None = None

    def start(self, grid: Any, initial_arrays: ArrayRecord, num_rounds: int = 3, timeout: float | None = None,
              train_config: ConfigRecord | None = None, evaluate_fn: Any = None) -> Result:
        """Run ``num_rounds`` rounds; ``evaluate_fn(round, arrays)`` before the first and after each."""
        self._train_config = dict(train_config or {})
        context = self.legacy_context(grid, num_rounds, timeout)
        return run_rounds(initial_arrays, num_rounds, lambda r, arrays: self.run_round(grid, context, r, arrays),
                          evaluate_fn)

    def legacy_context(self, grid: Any, num_rounds: int, timeout: float | None) -> LegacyContext:
        """The workflow's context (one per run; each round overwrites its round number and parameters)."""
        return LegacyContext(Context(run_id=int(getattr(grid, "run_id", 0) or 0), node_id=0, node_config={},
                                     state=RecordDict(), run_config={}),
                             config=ServerConfig(num_rounds=num_rounds, round_timeout=timeout), strategy=self)

    def set_train_config(self, config: dict[str, Any]) -> None:
        """What every round's request carries (the run config; a resumed deployment's overrides)."""
        self._train_config = dict(config)

    def run_round(self, grid: Any, context: LegacyContext, server_round: int, arrays: ArrayRecord) -> ArrayRecord:
        """One SecAgg+ round numbered ``server_round``: the new global adapter, or :class:`SecAggHalted`."""
        self._global = dict(from_record(arrays))
        self._names, self._aggregate = list(self._global), None
        context.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({WorkflowKey.CURRENT_ROUND: server_round})
        context.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
            ndarrays_to_parameters([self._global[k] for k in self._names]), keep_input=True)
        if hasattr(grid, "server_round"):
            grid.server_round = server_round  # ProgressGrid's progress line
        self._grid = tap = _StageTap(grid)
        self.workflow(tap, context)
        self._record(server_round, tap)
        if self._aggregate is None:
            raise SecAggHalted(f"round {server_round}: secure aggregation halted (fewer owners answered than "
                               "its threshold needs to unmask the sum); stopping with the last global model")
        out = to_record(self._aggregate)
        return self.post_aggregate(server_round, out) if self.post_aggregate is not None else out

    # --- the legacy strategy interface SecAggPlusWorkflow calls -------------------------------------------

    def configure_fit(self, server_round: int, parameters: Any, client_manager: Any) -> list[tuple[Any, FitIns]]:
        """Sample the round's owners (as Flower's FedAvg does); each gets the global adapter and the run config."""
        n_all = len(list(self._grid.get_node_ids()))
        size = max(int(n_all * self.fraction_train), self.min_train_nodes)
        nodes, _ = sample_nodes(self._grid, self.min_available_nodes, size)
        self.sampled = len(nodes)
        config = {**self._train_config, "server-round": server_round, NAMES_KEY: list(self._names)}
        run_id = int(getattr(self._grid, "run_id", 0) or 0)
        return [(GridClientProxy(nid, self._grid, run_id), FitIns(parameters, config)) for nid in nodes]

    def aggregate_fit(self, server_round: int, results: list[tuple[Any, Any]],
                      failures: list[Any]) -> tuple[None, dict[str, Any]]:
        """``results``' parameters are all the unmasked mean change: the new global adapter is old + mean."""
        if results:
            mean = parameters_to_ndarrays(results[0][1].parameters)
            self._aggregate = {k: (self._global[k] + m).astype(self._global[k].dtype)
                               for k, m in zip(self._names, mean, strict=True)}
        return None, {}

    def _record(self, server_round: int, tap: _StageTap) -> None:
        """The round's client rows (as fedflm.fl.strategy.Recording writes them) from the taps' replies."""
        collect = tap.replies.get(Stage.COLLECT_MASKED_VECTORS, [])
        clients, seen, bytes_up = [], set(), 0
        for msg in collect:
            seen.add(msg.metadata.src_node_id)
            if msg.has_error():
                clients.append(error_row(server_round, msg))
                continue
            clients.append(reply_row(server_round, msg))
            bytes_up += sum(len(b) for b in msg.content.config_records[RECORD_KEY_CONFIGS][Key.MASKED_PARAMETERS])
        for stage, replies in tap.replies.items():  # owners that failed before the masked vectors
            for msg in replies:
                if stage != Stage.COLLECT_MASKED_VECTORS and msg.has_error() and msg.metadata.src_node_id not in seen:
                    seen.add(msg.metadata.src_node_id)
                    clients.append(error_row(server_round, msg))
        ok = sum(1 for c in clients if c["status"] == "ok")
        self.last_round = {"round": server_round, "clients": clients, "bytes_up": bytes_up, "clients_ok": ok,
                           "clients_failed": max(self.sampled - ok, 0), "train": {},
                           "ledgers": ledger_copies(m for m in collect if not m.has_error())}
        enough_clients_or_stop(server_round, clients, self.min_train_nodes)

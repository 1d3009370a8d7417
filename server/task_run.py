"""What the non-classification federations of the ServerApp share (``server/causal_lm.py``,
``server/recommend.py``), simulated or deployed (``fedflm server start --task``): opening the run (the run id
in the owners' ledgers, the run directory), recording a finished round's per-owner rows, published ledgers and
epsilon, scoring every global model, and the FedAvg round loop with its clean stop when too few owners are
left."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
from flwr.serverapp import Grid

from fedflm.config import AggConfig
from fedflm.deploy import env
from fedflm.errors import ConfigError
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.dp_server import BudgetStop, ensure_run_id, epsilon_max, write_ledgers
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir, default_run_dir
from fedflm.fl.strategy import ProgressGrid, Recording, build_strategy

C = TypeVar("C")


def deployed() -> bool:
    """True in a ServerApp started by ``fedflm server start`` (its SuperLink's environment says so)."""
    return os.environ.get(env.DEPLOYMENT) == "1"


def transport() -> str:
    """How updates travelled: "simulation", or "tls" / "insecure" as ``fedflm server start`` set it."""
    return os.environ.get(env.TRANSPORT, "unknown") if deployed() else "simulation"


def open_task_run(cfg: C) -> tuple[C, RunDir]:
    """Seed Flower's node sampling, name the run in the ledgers, create the run directory. ``cfg`` is a task
    config (fedflm.task_config.FlatTaskConfig with ``seed``, ``out``, ``as_run_config``). A deployed run needs
    the server's own held-out file (``eval_file``): the owners' data never reaches the server; and it has no
    checkpoints, so ``--resume`` is refused."""
    task = cfg.TASK  # type: ignore[attr-defined]
    if deployed() and not cfg.eval_file:  # type: ignore[attr-defined]
        raise ConfigError(f"--task {task} in deployment needs --eval-file: the server's own held-out data")
    if deployed() and os.environ.get(env.RESUME) == "1":
        raise ConfigError(f"--task {task} keeps no checkpoints: a deployed run cannot be resumed")
    random.seed(cfg.seed)  # type: ignore[attr-defined]  # Flower samples nodes with the global `random`
    if cfg.privacy.dp != "none":  # type: ignore[attr-defined]  # the run's id in every owner's privacy ledger
        cfg = dataclasses.replace(cfg, privacy=ensure_run_id(cfg.as_run_config()).privacy)  # type: ignore
    out = Path(cfg.out) if cfg.out else default_run_dir()  # type: ignore[attr-defined]
    cfg = dataclasses.replace(cfg, out=str(out))  # type: ignore[type-var]
    return cfg, RunDir.create(out, cfg.as_run_config(), config_toml=cfg.to_toml())  # type: ignore[attr-defined]


def record_round(rundir: RunDir, strategy: Recording, server_round: int, row: dict[str, Any]) -> None:
    """Add round ``server_round``'s owner figures to ``row``; write its per-owner rows and published ledgers."""
    last = strategy.last_round
    if server_round == 0 or last.get("round") != server_round:
        return
    if "train-loss" in last["train"]:  # dp none only: under DP no exact loss leaves an owner
        row["train_loss"] = last["train"]["train-loss"]
    row.update({k: last[k] for k in ("clients_ok", "clients_failed", "bytes_up")})
    for client_row in last["clients"]:
        rundir.append("client_metrics.jsonl", client_row)
    write_ledgers(rundir, last.get("ledgers", {}))
    eps = epsilon_max(last["clients"])
    if eps is not None:
        row["epsilon_max"] = eps


class TaskEvaluator:
    """Scores each global model with ``held.score(tensors)`` and appends one metrics row per round; prints the
    ``printed`` figures of each row as one JSON line."""

    def __init__(self, held: Any, rundir: RunDir, strategy: Recording, printed: tuple[str, ...]) -> None:
        self.held, self.rundir, self.strategy, self.printed = held, rundir, strategy, printed
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        row: dict[str, Any] = {"round": server_round, **self.held.score(from_record(arrays))}
        record_round(self.rundir, self.strategy, server_round, row)
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        shown = ("round", *self.printed, "epsilon_max", "elapsed_s")
        print(json.dumps({k: row[k] for k in shown if k in row}), flush=True)
        return MetricRecord({k: float(v) for k, v in row.items() if isinstance(v, (int, float))})


def run_task_server(grid: Grid, cfg: C, federate: Callable[[ProgressGrid, C, RunDir], Path]) -> Path:
    """Open the run, federate, and mark the run directory failed if anything escapes; returns the run directory."""
    cfg, rundir = open_task_run(cfg)
    try:
        return federate(ProgressGrid(grid), cfg, rundir)
    except BaseException as exc:
        rundir.fail(f"{type(exc).__name__}: {exc}")
        raise


def federate_rounds(grid: ProgressGrid, cfg: Any, rundir: RunDir, held: Any,
                    printed: tuple[str, ...]) -> tuple[dict, str | None, list[dict[str, Any]]]:
    """FedAvg over the task's tensors for ``cfg.rounds`` rounds, scored by ``held`` before round 1 and after each
    round. Under DP the owners send no unit counts, so the weights are uniform (``dp-unit-weight``); without DP
    they are weighted by the owners' counts. A :class:`BudgetStop` (too few owners left) ends the run cleanly.
    Returns (final tensors, the stop message or None, the metrics rows)."""
    weight_key = "num-examples" if cfg.privacy.dp == "none" else "dp-unit-weight"
    strategy = build_strategy(AggConfig(), fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=1,
                              min_available_nodes=cfg.clients, weighted_by_key=weight_key)
    initial = held.state()
    evaluator = TaskEvaluator(held, rundir, strategy, printed)
    stopped = None
    try:
        result = strategy.start(grid=grid, initial_arrays=to_record(initial), num_rounds=cfg.rounds,
                                timeout=cfg.as_run_config().fed.round_timeout,
                                train_config=ConfigRecord(cfg.to_run_config()), evaluate_fn=evaluator)
        final = from_record(result.arrays) if len(result.arrays) else initial
    except BudgetStop as exc:
        stopped = str(exc)
        reporter().message(stopped)
        final = held.state()  # the last evaluated global model
    return final, stopped, evaluator.rows

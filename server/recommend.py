"""The ServerApp's ``--task recommend`` federation (issue 25, part 2): FedAvg over the bi-encoder's
tower tensors, held-out users' AUC / HitRate@10 / NDCG@10 before round 1 and after every round,
the popularity baseline on the same users, and the run directory.

``server/app.py`` sends a run here when its run config says ``task = recommend``. Under DP the
owners send no user counts, so FedAvg weights are uniform (``dp-unit-weight``); without DP they
are weighted by user count. Refusals and failures are recorded as data, as for classification.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
from flwr.serverapp import Grid

from fedflm.config import AggConfig, run_warnings
from fedflm.deploy import env
from fedflm.errors import ConfigError
from fedflm.fl.arrays import from_record, record_nbytes, to_record
from fedflm.fl.dp_server import BudgetStop, ensure_run_id, epsilon_max, write_ledgers
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir, default_run_dir
from fedflm.fl.strategy import ProgressGrid, Recording, build_strategy
from fedflm.recommend.config import TASK, RecommendRunConfig
from fedflm.recommend.heldout import RankingHeldOut

METRICS = ("auc", "hit_rate_at_10", "ndcg_at_10")


class RankingEvaluator:
    """Scores each global model on the held-out users and appends one metrics row per round."""

    def __init__(self, held: RankingHeldOut, rundir: RunDir, strategy: Recording) -> None:
        self.held, self.rundir, self.strategy = held, rundir, strategy
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        row: dict[str, Any] = {"round": server_round, **self.held.score(from_record(arrays))}
        last = self.strategy.last_round
        if server_round > 0 and last.get("round") == server_round:
            if "train-loss" in last["train"]:  # dp none only: under DP no exact loss leaves an owner
                row["train_loss"] = last["train"]["train-loss"]
            row.update({k: last[k] for k in ("clients_ok", "clients_failed", "bytes_up")})
            for client_row in last["clients"]:
                self.rundir.append("client_metrics.jsonl", client_row)
            write_ledgers(self.rundir, last.get("ledgers", {}))
            eps = epsilon_max(last["clients"])
            if eps is not None:
                row["epsilon_max"] = eps
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        print(json.dumps({k: row[k] for k in ("round", *METRICS, "epsilon_max", "elapsed_s") if k in row}), flush=True)
        return MetricRecord({k: float(v) for k, v in row.items() if isinstance(v, (int, float))})


def run_recommend_server(grid: Grid, cfg: RecommendRunConfig) -> Path:
    """Run the whole recommendation federation; returns the run directory."""
    if os.environ.get(env.TRANSPORT):
        raise ConfigError(f"--task {TASK} runs in simulation only: `fedflm server start` does not serve it yet")
    random.seed(cfg.seed)  # Flower samples nodes with the global `random`
    if cfg.privacy.dp != "none":  # the run's id in every owner's privacy ledger
        cfg = dataclasses.replace(cfg, privacy=ensure_run_id(cfg.as_run_config()).privacy)
    out = Path(cfg.out) if cfg.out else default_run_dir()
    cfg = dataclasses.replace(cfg, out=str(out))
    rundir = RunDir.create(out, cfg.as_run_config(), config_toml=cfg.to_toml())
    try:
        return _federate(ProgressGrid(grid), cfg, rundir)
    except BaseException as exc:
        rundir.fail(f"{type(exc).__name__}: {exc}")
        raise


def _federate(grid: ProgressGrid, cfg: RecommendRunConfig, rundir: RunDir) -> Path:
    weight_key = "num-examples" if cfg.privacy.dp == "none" else "dp-unit-weight"
    strategy = build_strategy(AggConfig(), fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=1,
                              min_available_nodes=cfg.clients, weighted_by_key=weight_key)
    held = RankingHeldOut(cfg)
    initial = held.state()
    evaluator = RankingEvaluator(held, rundir, strategy)
    stopped = None
    try:
        result = strategy.start(grid=grid, initial_arrays=to_record(initial), num_rounds=cfg.rounds,
                                timeout=cfg.as_run_config().fed.round_timeout,
                                train_config=ConfigRecord(cfg.to_run_config()), evaluate_fn=evaluator)
        final = from_record(result.arrays) if len(result.arrays) else initial
    except BudgetStop as exc:  # too few owners left (their caps or policies): end cleanly
        stopped = str(exc)
        reporter().message(stopped)
        final = held.state()
    rundir.write_json("towers.json", {"embed_dim": cfg.embed_dim, "model": cfg.model, "pooling": cfg.pooling,
                                      "tensors": {k: v.tolist() for k, v in final.items()}})
    rows = evaluator.rows
    rundir.write_json("summary.json", {
        "task": TASK, "status": "incomplete" if stopped else "complete", "rounds": cfg.rounds,
        **({"stopped": stopped} if stopped else {}), "final": rows[-1],
        "before": {k: rows[0][k] for k in METRICS}, "after": {k: rows[-1][k] for k in METRICS},
        "popularity_baseline": held.baseline(), "eval_users": len(held.cases),
        "epsilon_max": rows[-1].get("epsilon_max"), "wall_time_s": rows[-1]["elapsed_s"],
        "bytes_per_client_per_round": record_nbytes(to_record(final)), "transport": "simulation",
        "warnings": run_warnings(cfg.as_run_config()) + ([stopped] if stopped else [])})
    rundir.complete()
    return rundir.path

"""The ServerApp's ``--task recommend`` federation (issue 25, part 2): FedAvg over the bi-encoder's
tower tensors, held-out users' AUC / HitRate@10 / NDCG@10 before round 1 and after every round,
the popularity baseline on the same users, and the run directory.

``server/app.py`` sends a run here when its run config says ``task = recommend``. Under DP the
owners send no user counts, so FedAvg weights are uniform (``dp-unit-weight``); without DP they
are weighted by user count. Refusals and failures are recorded as data, as for classification.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
from flwr.serverapp import Grid

from fedflm.config import AggConfig, run_warnings
from fedflm.fl.arrays import from_record, record_nbytes, to_record
from fedflm.fl.dp_server import BudgetStop
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir
from fedflm.fl.strategy import ProgressGrid, Recording, build_strategy
from fedflm.recommend.config import TASK, RecommendRunConfig
from fedflm.recommend.heldout import RankingHeldOut
from server.task_run import open_task_run, record_round

METRICS = ("auc", "hit_rate_at_10", "ndcg_at_10")


class RankingEvaluator:
    """Scores each global model on the held-out users and appends one metrics row per round."""

    def __init__(self, held: RankingHeldOut, rundir: RunDir, strategy: Recording) -> None:
        self.held, self.rundir, self.strategy = held, rundir, strategy
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        row: dict[str, Any] = {"round": server_round, **self.held.score(from_record(arrays))}
        record_round(self.rundir, self.strategy, server_round, row)
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        print(json.dumps({k: row[k] for k in ("round", *METRICS, "epsilon_max", "elapsed_s") if k in row}), flush=True)
        return MetricRecord({k: float(v) for k, v in row.items() if isinstance(v, (int, float))})


def run_recommend_server(grid: Grid, cfg: RecommendRunConfig) -> Path:
    """Run the whole recommendation federation; returns the run directory."""
    cfg, rundir = open_task_run(cfg)
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

"""The ServerApp's ``--task causal-lm`` federation (issue 25): FedAvg over the LoRA adapter tensors,
held-out perplexity before round 1 and after every round, and the run directory.

``server/app.py`` sends a run here when its run config says ``task = causal-lm``. Under DP the
owners send no record count, so FedAvg weights are uniform (``dp-unit-weight``); without DP they
are weighted by record count. Refusals and failures are recorded as data, as for classification.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord
from flwr.serverapp import Grid

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.heldout import HeldOut
from fedflm.config import AggConfig, run_warnings
from fedflm.fl.arrays import from_record, record_nbytes, to_record
from fedflm.fl.dp_server import BudgetStop
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir
from fedflm.fl.strategy import ProgressGrid, Recording, build_strategy
from server.task_run import open_task_run, record_round


class PerplexityEvaluator:
    """Scores each global adapter on the held-out records and appends one metrics row per round."""

    def __init__(self, held: HeldOut, rundir: RunDir, strategy: Recording) -> None:
        self.held, self.rundir, self.strategy = held, rundir, strategy
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        row: dict[str, Any] = {"round": server_round, **self.held.score(from_record(arrays))}
        record_round(self.rundir, self.strategy, server_round, row)
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        print(json.dumps({k: row[k] for k in ("round", "perplexity", "epsilon_max", "elapsed_s") if k in row}),
              flush=True)
        return MetricRecord({k: float(v) for k, v in row.items() if isinstance(v, (int, float))})


def run_causal_server(grid: Grid, cfg: CausalRunConfig) -> Path:
    """Run the whole causal-LM federation; returns the run directory."""
    cfg, rundir = open_task_run(cfg)
    try:
        return _federate(ProgressGrid(grid), cfg, rundir)
    except BaseException as exc:
        rundir.fail(f"{type(exc).__name__}: {exc}")
        raise


def _federate(grid: ProgressGrid, cfg: CausalRunConfig, rundir: RunDir) -> Path:
    weight_key = "num-examples" if cfg.privacy.dp == "none" else "dp-unit-weight"
    strategy = build_strategy(AggConfig(), fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=1,
                              min_available_nodes=cfg.clients, weighted_by_key=weight_key)
    held = HeldOut(cfg)
    initial = held.state()
    before = held.generations()
    evaluator = PerplexityEvaluator(held, rundir, strategy)
    stopped = None
    try:
        result = strategy.start(grid=grid, initial_arrays=to_record(initial), num_rounds=cfg.rounds,
                                timeout=cfg.as_run_config().fed.round_timeout,
                                train_config=ConfigRecord(cfg.to_run_config()), evaluate_fn=evaluator)
        final = from_record(result.arrays) if len(result.arrays) else initial
    except BudgetStop as exc:  # too few owners left (their caps or policies): end cleanly
        stopped = str(exc)
        reporter().message(stopped)
        final = held.state()  # the last evaluated global adapter
    held.score(final)
    after = held.generations()
    held.model.save_pretrained(str(rundir.path / "adapter"))
    rows = evaluator.rows
    rundir.write_json("summary.json", {
        "task": "causal-lm", "status": "incomplete" if stopped else "complete", "rounds": cfg.rounds,
        **({"stopped": stopped} if stopped else {}), "final": rows[-1],
        "perplexity_before": rows[0]["perplexity"], "perplexity_after": rows[-1]["perplexity"],
        "epsilon_max": rows[-1].get("epsilon_max"), "eval_records": held.records,
        "generations": [{"prompt": p, "before": b, "after": a} for p, b, a in zip(held.prompts, before, after)],
        "wall_time_s": rows[-1]["elapsed_s"], "bytes_per_client_per_round": record_nbytes(to_record(final)),
        "transport": "simulation", "warnings": run_warnings(cfg.as_run_config()) + ([stopped] if stopped else [])})
    rundir.complete()
    return rundir.path

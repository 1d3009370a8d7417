"""The ServerApp's ``--task recommend`` federation (issue 25, part 2): FedAvg over the bi-encoder's
tower tensors, held-out users' AUC / HitRate@10 / NDCG@10 before round 1 and after every round,
the popularity baseline on the same users, and the run directory.

``server/app.py`` sends a run here when its run config says ``task = recommend``. Under DP the
owners send no user counts, so FedAvg weights are uniform (``dp-unit-weight``); without DP they
are weighted by user count. In deployment (``fedflm server start --task recommend``) the held-out users
are the server's own ``--eval-file`` log. Refusals and failures are recorded as data, as for classification.
"""

from __future__ import annotations

from pathlib import Path

from flwr.serverapp import Grid

from fedflm.config_rules import run_warnings
from fedflm.fl.arrays import record_nbytes, to_record
from fedflm.fl.rundir import RunDir
from fedflm.fl.strategy import ProgressGrid
from fedflm.recommend.config import TASK, RecommendRunConfig
from fedflm.recommend.heldout import RankingHeldOut
from server.task_run import deployed, federate_rounds, run_task_server, transport

METRICS = ("auc", "hit_rate_at_10", "ndcg_at_10")


def run_recommend_server(grid: Grid, cfg: RecommendRunConfig) -> Path:
    """Run the whole recommendation federation; returns the run directory."""
    return run_task_server(grid, cfg, _federate)


def _federate(grid: ProgressGrid, cfg: RecommendRunConfig, rundir: RunDir) -> Path:
    held = RankingHeldOut(cfg, deployed=deployed())
    final, stopped, rows = federate_rounds(grid, cfg, rundir, held, METRICS)
    rundir.write_json("towers.json", {"embed_dim": cfg.embed_dim, "model": cfg.model, "pooling": cfg.pooling,
                                      "tensors": {k: v.tolist() for k, v in final.items()}})
    rundir.write_json("summary.json", {
        "task": TASK, "status": "incomplete" if stopped else "complete", "rounds": cfg.rounds,
        **({"stopped": stopped} if stopped else {}), "final": rows[-1],
        "before": {k: rows[0][k] for k in METRICS}, "after": {k: rows[-1][k] for k in METRICS},
        "popularity_baseline": held.baseline(), "eval_users": len(held.cases),
        "epsilon_max": rows[-1].get("epsilon_max"), "wall_time_s": rows[-1]["elapsed_s"],
        "bytes_per_client_per_round": record_nbytes(to_record(final)), "transport": transport(),
        "warnings": run_warnings(cfg.as_run_config()) + ([stopped] if stopped else [])})
    rundir.complete()
    return rundir.path

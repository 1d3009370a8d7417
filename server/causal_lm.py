"""The ServerApp's ``--task causal-lm`` federation (issue 25): FedAvg over the LoRA adapter tensors,
held-out perplexity before round 1 and after every round, and the run directory.

``server/app.py`` sends a run here when its run config says ``task = causal-lm``. Under DP the
owners send no record count, so FedAvg weights are uniform (``dp-unit-weight``); without DP they
are weighted by record count. In deployment (``fedflm server start --task causal-lm``) the held-out
records are the server's own ``--eval-file``. Refusals and failures are recorded as data, as for classification.
"""

from __future__ import annotations

from pathlib import Path

from flwr.serverapp import Grid

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.heldout import HeldOut
from fedflm.config_rules import run_warnings
from fedflm.fl.arrays import record_nbytes, to_record
from fedflm.fl.rundir import RunDir
from fedflm.fl.strategy import ProgressGrid
from server.task_run import deployed, federate_rounds, run_task_server, transport


def run_causal_server(grid: Grid, cfg: CausalRunConfig) -> Path:
    """Run the whole causal-LM federation; returns the run directory."""
    return run_task_server(grid, cfg, _federate)


def _federate(grid: ProgressGrid, cfg: CausalRunConfig, rundir: RunDir) -> Path:
    held = HeldOut(cfg, deployed=deployed())
    before = held.generations()
    final, stopped, rows = federate_rounds(grid, cfg, rundir, held, ("perplexity",))
    held.score(final)
    after = held.generations()
    held.model.save_pretrained(str(rundir.path / "adapter"))
    rundir.write_json("summary.json", {
        "task": "causal-lm", "status": "incomplete" if stopped else "complete", "rounds": cfg.rounds,
        **({"stopped": stopped} if stopped else {}), "final": rows[-1],
        "perplexity_before": rows[0]["perplexity"], "perplexity_after": rows[-1]["perplexity"],
        "epsilon_max": rows[-1].get("epsilon_max"), "eval_records": held.records,
        "generations": [{"prompt": p, "before": b, "after": a} for p, b, a in zip(held.prompts, before, after)],
        "wall_time_s": rows[-1]["elapsed_s"], "bytes_per_client_per_round": record_nbytes(to_record(final)),
        "transport": transport(), "warnings": run_warnings(cfg.as_run_config()) + ([stopped] if stopped else [])})
    rundir.complete()
    return rundir.path

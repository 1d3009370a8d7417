"""What the non-classification federations of the ServerApp share (``server/causal_lm.py``,
``server/recommend.py``): opening the run (simulation only, the run id in the owners' ledgers, the run
directory) and recording a finished round's per-owner rows, published ledgers and epsilon."""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path
from typing import Any, TypeVar

from fedflm.deploy import env
from fedflm.errors import ConfigError
from fedflm.fl.dp_server import ensure_run_id, epsilon_max, write_ledgers
from fedflm.fl.rundir import RunDir, default_run_dir
from fedflm.fl.strategy import Recording

C = TypeVar("C")


def open_task_run(cfg: C) -> tuple[C, RunDir]:
    """Refuse deployment, seed Flower's node sampling, name the run in the ledgers, create the run directory.
    ``cfg`` is a task config (fedflm.task_config.FlatTaskConfig with ``seed``, ``out``, ``as_run_config``)."""
    task = cfg.TASK  # type: ignore[attr-defined]
    if os.environ.get(env.TRANSPORT):
        raise ConfigError(f"--task {task} runs in simulation only: `fedflm server start` does not serve it yet")
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

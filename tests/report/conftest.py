"""A synthetic run directory in the documented format, for report unit tests.

Only the plotting / HTML tests use it; the end-to-end test runs a tiny real
simulation instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

RunFactory = Callable[..., Path]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _round_rows(rounds: int, dp: bool, rng: np.random.Generator) -> list[dict]:
    rows = []
    for r in range(rounds + 1):
        acc = 0.5 + 0.4 * r / max(rounds, 1)
        rows.append({
            "round": r, "accuracy": acc, "macro_f1": acc - 0.02, "macro_precision": acc,
            "macro_recall": acc, "roc_auc": acc + 0.02, "loss": 0.7 - 0.1 * r,
            "train_loss": None if r == 0 else 0.65 - 0.1 * r, "clients_ok": 0 if r == 0 else 3,
            "clients_failed": 0, "bytes_up": 0 if r == 0 else 900_000 + int(rng.integers(0, 1000)),
            "epsilon_max": (0.9 * r if dp else None), "elapsed_s": 1.5 * r,
        })
    return rows


def _client_rows(rounds: int, num_clients: int, dp: bool) -> list[dict]:
    rows = []
    for r in range(1, rounds + 1):
        for c in range(num_clients):
            row = {"round": r, "partition_id": c, "train_loss": 0.7 - 0.05 * r - 0.01 * c,
                   "num_examples": 40 + c, "status": "ok"}
            if dp:
                row["epsilon"] = 0.8 * r + 0.05 * c
            rows.append(row)
    return rows


def build_run(root: Path, *, dp: bool = True, num_clients: int = 3, num_labels: int = 2,
              rounds: int = 3, config: str | None = None, warnings: list[str] | None = None) -> Path:
    """Write a complete synthetic run directory under ``root`` and return it."""
    rng = np.random.default_rng(0)
    run = root / ("run_dp" if dp else "run_nodp")
    run.mkdir(parents=True)
    names = ["negative", "positive"] if num_labels == 2 else [f"intent_{i}" for i in range(num_labels)]
    dp_block = '[dp]\nmode = "sample"\ntarget_epsilon = 3.0\n' if dp else '[dp]\nmode = "none"\n'
    (run / "config.toml").write_text(config if config is not None else (
        '[data]\ndataset = "sst2"\n\n[federation]\nnum_clients = 3\nnum_rounds = 3\n\n' + dp_block),
        encoding="utf-8")
    _write_jsonl(run / "metrics.jsonl", _round_rows(rounds, dp, rng))
    _write_jsonl(run / "client_metrics.jsonl", _client_rows(rounds, num_clients, dp))
    clients = [{"partition_id": c, "num_examples": 40 + c,
                "label_counts": rng.integers(0, 20, size=num_labels).tolist()} for c in range(num_clients)]
    (run / "clients.json").write_text(json.dumps({"label_names": names, "clients": clients}))
    matrix = (rng.integers(0, 5, size=(num_labels, num_labels)) + 20 * np.eye(num_labels, dtype=int)).tolist()
    summary = {"status": "complete", "final": _round_rows(rounds, dp, rng)[-1], "wall_time_s": 12.5,
               "bytes_per_client_per_round": 300_000, "rounds": rounds, "confusion_matrix": matrix,
               "label_names": names, "warnings": warnings or []}
    (run / "summary.json").write_text(json.dumps(summary))
    if dp:
        (run / "ledgers").mkdir()
        for c in range(num_clients):
            entry = {"version": 1, "owner_id": f"owner-{c}", "round": rounds, "epsilon": 2.5,
                     "epsilon_cap": 3.0, "mechanism": "dpsgd-poisson-gaussian"}
            _write_jsonl(run / "ledgers" / f"owner-{c}.jsonl", [entry])
    return run


@pytest.fixture
def make_run(tmp_path: Path) -> RunFactory:
    """Factory fixture: ``make_run(dp=..., num_labels=...)`` -> run directory."""
    return lambda **kwargs: build_run(tmp_path, **kwargs)

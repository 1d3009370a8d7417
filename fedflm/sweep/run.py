"""Run every setting of a sweep as a simulation and rank them on the validation split."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from fedflm.config import RunConfig
from fedflm.errors import FedflmError
from fedflm.fl.resources import SimResources
from fedflm.sweep.grid import setting_config, settings
from fedflm.sweep.table import failed_row, markdown, ranked, sweep_row


def run_sweep(base: RunConfig, grid: dict[str, list[str]], out: Path, metric: str = "accuracy",
              on_done: Callable[[int, int, dict[str, Any]], None] | None = None,
              resources: SimResources = SimResources()) -> list[dict[str, Any]]:
    """Simulate each setting (validation carved from training) on ``resources``; write sweep.json and sweep.md."""
    from fedflm.fl.simulation import run_simulation  # no HTML report per setting: the table is the output

    out.mkdir(parents=True, exist_ok=True)
    combos = settings(grid)
    rows: list[dict[str, Any]] = []
    for i, setting in enumerate(combos, start=1):
        run_dir = out / f"setting-{i:02d}"
        t0 = time.perf_counter()
        try:
            cfg = setting_config(base, setting, str(run_dir))
            result = run_simulation(cfg, resources=resources)
            row = sweep_row(setting, result.metrics, metric, str(run_dir), time.perf_counter() - t0)
        except FedflmError as exc:  # a bad setting is a row of the table, not the end of the sweep
            row = failed_row(setting, metric, f"{type(exc).__name__}: {exc}")
        rows.append(row)
        _write(out, ranked(rows), list(grid))
        if on_done is not None:
            on_done(i, len(combos), row)
    return ranked(rows)


def _write(out: Path, rows: list[dict[str, Any]], keys: list[str]) -> None:
    (out / "sweep.json").write_text(json.dumps({"keys": keys, "rows": rows}, indent=2))
    (out / "sweep.md").write_text(markdown(rows, keys))

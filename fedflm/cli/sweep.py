"""``fedflm sweep CONFIG --grid key=v1,v2 ...``: pick hyperparameters on training data only."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """Run each setting of a grid as a simulation and rank the settings by a validation
metric. The evaluation set of every setting is carved from the TRAINING data (the data set's
dev/test split is never loaded, a user eval_file is ignored), and the epsilon each setting spent
is recorded. Tuning on private data spends privacy: sweep on public data, or account for it.

Axes come from --grid and/or the config file's [sweep.grid] table (lists of values). Aggregation
is an axis like any other: strategy=fedavg,fedprox:0.001|0.01,fedadam:0.01|0.1 tries FedAvg,
FedProx with mu 0.001 and 0.01, FedAdam with eta 0.01 and 0.1 ('|' lists a knob's alternatives)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="rank hyperparameter settings on a validation split of the training data",
                       description=DESCRIPTION)
    p.add_argument("config", type=Path, help="TOML file with the base settings (as for simulate --config; "
                   "a recipe works) and optionally [sweep] metric and [sweep.grid] KEY = [V1, V2] (--grid KEY replaces it)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="a config key and the values to try (repeat for more keys); "
                   "'|' lists a knob's alternatives, e.g. strategy=fedavg,fedprox:0.001|0.01")
    p.add_argument("--metric", default=None,
                   help="validation metric to rank by (default: [sweep] metric, else accuracy)")
    p.add_argument("--out", type=Path, default=None, help="sweep directory (default runs/sweep-<time>)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import time

    from fedflm.cli.simulate import load_config_file
    from fedflm.config import RunConfig
    from fedflm.errors import ConfigError
    from fedflm.sweep.grid import check_grid, file_grid, parse_grid

    flat, file_axes, file_metric = file_grid(load_config_file(args.config), str(args.config))
    base = RunConfig.from_flat(flat)
    flags = parse_grid(args.grid)  # a --grid axis replaces the file's axis of the same key
    grid = {**{k: v for k, v in file_axes.items() if k not in flags}, **flags}
    if not grid:
        raise ConfigError("sweep needs at least one --grid KEY=V1,V2 (or a [sweep.grid] table)")
    check_grid(base, grid)  # every value and setting must be a valid config before anything runs
    args.metric = args.metric or file_metric or "accuracy"
    out = args.out or Path("runs") / f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
    from rich.table import Table

    from fedflm.cli.display import console
    from fedflm.sweep.run import run_sweep

    def on_done(i: int, n: int, row: dict) -> None:
        value = row["value"]
        console.print(f"setting {i}/{n} {row['setting']}: validation {row['metric']} "
                      f"{value:.4f}, epsilon {row.get('epsilon')}" if value == value else
                      f"setting {i}/{n} {row['setting']}: failed ({row.get('error')})")

    rows = run_sweep(base, grid, out, args.metric, on_done)
    table = Table(title=f"Sweep ranked by validation {args.metric} (carved from training data)",
                  title_justify="left")
    for col in ["rank", *grid, args.metric, "epsilon"]:
        table.add_column(col, justify="right")
    for i, row in enumerate(rows, start=1):
        v, eps = row["value"], row.get("epsilon")
        table.add_row(str(i), *(row["setting"][k] for k in grid), "failed" if v != v else f"{v:.4f}",
                      "—" if eps is None else f"{eps:.2f}")
    console.print(table)
    console.print(f"sweep directory: [bold]{out}[/] (sweep.json, sweep.md)")
    return 0

"""``fedflm simulate``: a simulated federation on real data, in one command."""

from __future__ import annotations

import argparse
import contextlib
import tomllib
from pathlib import Path
from typing import Any

from fedflm.cli.resource_flags import add_resource_flags, resources_from
from fedflm.cli.run_flags import add_run_config_flags
from fedflm.config import RunConfig
from fedflm.config_rules import run_warnings
from fedflm.errors import ConfigError

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a simulated federation (Flower Simulation Engine)",
                       description="Fine-tune a LoRA adapter across simulated clients with "
                                   "FedAvg and a global evaluation every round.")
    p.add_argument("--config", type=Path, help="TOML file with the same keys (flags override it)")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    add_run_config_flags(p)
    from fedflm.cli.causal_lm import add_task_flags  # issue 25: --task causal-lm
    add_task_flags(p)
    add_resource_flags(p)
    p.set_defaults(handler=run)


def load_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """Defaults, then --config FILE, then the flags given on the command line."""
    cfg = RunConfig()
    if args.config is not None:
        cfg = RunConfig.from_flat(load_config_file(args.config), base=cfg)
    flags = {k: v for k, v in vars(args).items()
             if k in RunConfig.flat_keys() and v is not None}
    return RunConfig.from_flat(flags, base=cfg)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "task", "classify") == "causal-lm":  # issue 25: its own runner (fedflm/causal/)
        from fedflm.cli.causal_lm import run_causal
        return run_causal(args, load_config_file(args.config) if args.config is not None else {})
    if getattr(args, "task", "classify") == "recommend":  # issue 25 part 2: its own runner (fedflm/recommend/)
        from fedflm.cli.recommend import run_recommend
        return run_recommend(args, load_config_file(args.config) if args.config is not None else {})
    cfg = resolve_config(args)  # config errors first, before the heavy imports
    resources = resources_from(args)
    from fedflm.cli.display import RichReporter, client_table, console, summary_table, warn
    from fedflm.fl import progress
    from fedflm.api import simulate

    reporter = RichReporter()
    progress.set_reporter(None if args.quiet else reporter)
    with contextlib.ExitStack() as live:

        def on_prepared(stats, names) -> None:
            # Printed (and the live display started) only once the data has loaded and
            # partitioned, so that a user error is the only line on stderr.
            for text in run_warnings(cfg):
                warn(text)
            console.print(f"[bold]fedflm simulate[/]: {cfg.data.dataset}, {cfg.fed.clients} "
                          f"clients, {cfg.fed.rounds} rounds, partition {cfg.data.partition}, "
                          f"model {cfg.model.model}")
            console.print(client_table(stats, names))
            plan_cfg = cfg
            if cfg.fed.init_from:  # issue 23: the earlier run, and what its owners have spent already
                from fedflm.cli.init_from import continued_text
                text, plan_cfg = continued_text(cfg)
                console.print(text, markup=False)
            if cfg.privacy.dp != "none":
                from fedflm.privacy.federation import plan_text
                from fedflm.train.resample import resampled_size_of_counts  # issue 22: undersample's q
                units = [resampled_size_of_counts(s.label_counts, cfg.train.resample) for s in stats]
                console.print(plan_text(plan_cfg, units), markup=False)
            from fedflm.train.phases import plan_phases_text  # issue 15: head / LoRA split of the rounds
            console.print(plan_phases_text(cfg, [s.num_examples for s in stats]), markup=False)
            from fedflm.fl.selection import selection_text  # issue 22: model selection, early stopping
            if selection_text(cfg):
                console.print(selection_text(cfg), markup=False)
            if not args.quiet:
                live.enter_context(reporter)

        try:
            result = simulate(cfg, on_prepared=on_prepared, resources=resources)
        finally:
            progress.set_reporter(None)
    console.print(summary_table(result.metrics))
    for text in result.summary.get("warnings", []):  # issue 15: a collapsed model, said last
        if text.startswith("collapsed model"):
            warn(text)
    console.print(f"run directory: [bold]{result.run_dir}[/] "
                  f"(wall time {result.summary['total_wall_time_s']:.0f} s)")
    if result.report is not None:
        console.print(f"report: [bold]{result.report}[/]")
    return 0

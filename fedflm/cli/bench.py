"""``fedflm bench RECIPE``: run a results recipe and record its result rows."""

from __future__ import annotations

import argparse
from pathlib import Path

from fedflm.cli.command import add_command
from fedflm.cli.resource_flags import add_resource_flags, resources_from


def _run(args: argparse.Namespace) -> int:
    resources = resources_from(args)  # a bad value fails here, before any run
    from fedflm.bench.recipes import row_line, run_and_record

    rows = run_and_record(args.recipe, seeds=tuple(args.seeds or ()), recipes_dir=Path(args.recipes_dir),
                          runs_dir=Path(args.runs_dir), results_dir=Path(args.results), repo=Path(args.repo),
                          resources=resources)
    for row in rows:
        print(row_line(row))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``bench`` subcommand; its handler is stored as ``args.handler``."""
    parser = add_command(
        subparsers, "bench", _run, "run a results recipe (simulations/recipes/) and write its result rows",
        "Run RECIPE (a name in --recipes-dir or a .toml path) once per seed with "
        "`fedflm simulate`, write each run's report, and one result row per seed "
        "(resolved config, commit, machine, metrics) for simulations/make_results.py.")
    parser.add_argument("recipe", metavar="RECIPE", help="recipe name or path to a recipe .toml")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds to run (default: the recipe's)")
    parser.add_argument("--recipes-dir", default="simulations/recipes", help="where named recipes live")
    parser.add_argument("--runs-dir", default="runs/recipes", help="parent of the run directories")
    parser.add_argument("--results", default="simulations/results", help="folder for result rows")
    parser.add_argument("--repo", default=".", help="git checkout whose commit is recorded")
    add_resource_flags(parser)  # the row records what each client trained with (machine.torch_threads)

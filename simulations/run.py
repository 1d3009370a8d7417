"""Run a recipe of simulations/recipes/ and record one result row per seed.

    python simulations/run.py sst2-fed-iid-smoke              # the recipe's own seeds
    python simulations/run.py sst2-central-dp-eps8 --seeds 0 1 2
    python simulations/run.py --list

Each seed writes its run directory (with report.html) under runs/recipes/ and a
row (resolved config, commit, machine, metrics) to simulations/results/; then
`python simulations/make_results.py` regenerates RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fedflm.cli.resource_flags import add_resource_flags, resources_from  # noqa: E402
from fedflm.errors import FedflmError  # noqa: E402

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", nargs="?", help="recipe name (in simulations/recipes/) or .toml path")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds to run (default: the recipe's)")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "recipes", help="where run dirs go")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="where result rows go")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    add_resource_flags(parser)
    args = parser.parse_args(argv)
    from fedflm.bench.recipes import load_recipe, row_line, run_and_record

    try:
        if args.list or not args.recipe:
            for path in sorted((HERE / "recipes").glob("*.toml")):
                recipe = load_recipe(path)
                print(f"{recipe.name:32s} seeds {list(recipe.seeds)}  {recipe.description}")
            return 0
        rows = run_and_record(args.recipe, seeds=tuple(args.seeds or ()), recipes_dir=HERE / "recipes",
                              runs_dir=args.runs_dir, results_dir=args.results, repo=ROOT,
                              resources=resources_from(args))
    except FedflmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    for row in rows:
        print(row_line(row))
    print("now run: python simulations/make_results.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())

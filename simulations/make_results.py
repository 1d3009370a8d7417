"""Generate simulations/RESULTS.md from simulations/results/*.json (result rows) and
simulations/results/bench/*.json (benchmark records of simulations/bench_all.py).

    python simulations/make_results.py            # (re)write RESULTS.md
    python simulations/make_results.py --check    # exit 1 when RESULTS.md is stale

Rows without their config or commit (and benchmark records without their commit),
and rows whose recipe file has since changed, are refused with a one-line error (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.errors import FedflmError  # noqa: E402
from fedflm.report.benchtable import load_bench_records  # noqa: E402
from fedflm.report.results import load_rows  # noqa: E402
from fedflm.report.results_md import render_results  # noqa: E402

HERE = Path(__file__).resolve().parent


def _recipes(folder: Path) -> dict:
    """Recipe name -> Recipe for every recipe file (rows must match them; RESULTS.md lists those not yet run)."""
    from fedflm.bench.recipes import load_recipe

    return {recipe.name: recipe for recipe in map(load_recipe, sorted(folder.glob("*.toml")))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=HERE / "results", help="folder of *.json result rows")
    parser.add_argument("--recipes", type=Path, default=HERE / "recipes", help="folder of recipe *.toml")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="page to write")
    parser.add_argument("--check", action="store_true", help="only verify that --out is up to date")
    args = parser.parse_args(argv)
    try:
        recipes = _recipes(args.recipes)
        page = render_results(load_rows(args.results, recipes), load_bench_records(args.results / "bench"),
                              {name: recipe.dataset for name, recipe in recipes.items()})
    except FedflmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != page:
            print(f"{args.out} is stale: run python simulations/make_results.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(page, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

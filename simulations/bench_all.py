"""Run every simulations/bench_*.py script and print one table of their figures.

    python simulations/bench_all.py                       # all benchmarks
    python simulations/bench_all.py --only dp store       # bench_dp.py, bench_store.py
    python simulations/bench_all.py --json-out simulations/results/bench/cpu.json

Each script runs in its own process (so peak-RSS figures are its own) and must
print, as its LAST line, ``BENCH_JSON {flat json object of figures}``. A script
that fails or breaks the convention gets an ERROR row; the others still run.
``--quick`` sets FEDFLM_BENCH_QUICK=1 in the scripts' environment (scripts may
honour it to run a smaller size). The machine (GPU name when torch sees one)
and the commit head the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.errors import FedflmError  # noqa: E402
from fedflm.report.benchtable import BenchResult, parse_bench_output, render_markdown, table_rows  # noqa: E402

HERE = Path(__file__).resolve().parent


def discover(folder: Path, only: list[str] | None) -> list[Path]:
    """bench_*.py scripts in ``folder`` (not this runner), optionally filtered by name."""
    scripts = sorted(p for p in folder.glob("bench_*.py") if p.name != Path(__file__).name)
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        missing = wanted - {p.stem.removeprefix("bench_") for p in scripts}
        if missing:
            raise SystemExit(f"error: no bench script named {', '.join(sorted(missing))} in {folder}")
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in wanted]
    return scripts


def run_one(script: Path, timeout_s: float, quick: bool) -> BenchResult:
    """Run one script in a fresh interpreter and parse its BENCH_JSON line."""
    name = script.stem.removeprefix("bench_")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if quick:
        env["FEDFLM_BENCH_QUICK"] = "1"
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=timeout_s, cwd=ROOT, env=env, check=False)
    except subprocess.TimeoutExpired:
        return BenchResult(name, error=f"timed out after {timeout_s:g} s")
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return BenchResult(name, error=f"exit {done.returncode}: {tail[:200]}", wall_s=wall)
    try:
        return BenchResult(name, figures=parse_bench_output(done.stdout, source=script.name), wall_s=wall)
    except FedflmError as exc:
        return BenchResult(name, error=str(exc), wall_s=wall)


def _print_table(results: list[BenchResult], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain Markdown when rich is absent
        print(render_markdown(results, title))
        return
    table = Table(title=f"Benchmarks on {title}")
    for column in ("benchmark", "figure", "value"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in table_rows(results):
        table.add_row(*row)
    Console(width=120).print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=HERE, help="folder holding bench_*.py (default: simulations/)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. dp store)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per script (default 1800)")
    parser.add_argument("--quick", action="store_true", help="set FEDFLM_BENCH_QUICK=1 for the scripts")
    parser.add_argument("--markdown", action="store_true", help="print Markdown instead of a rich table")
    parser.add_argument("--json-out", type=Path, help="also save figures, machine and commit as JSON")
    args = parser.parse_args(argv)

    from fedflm.report.results import git_commit, machine_info, machine_label

    machine = machine_info()
    commit, dirty = git_commit(ROOT)
    title = f"{machine_label(machine)}, commit {commit[:10]}{'+dirty' if dirty else ''}"
    results = [run_one(script, args.timeout, args.quick) for script in discover(args.dir, args.only)]
    if args.markdown:
        print(render_markdown(results, title))
    else:
        _print_table(results, title)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"commit": commit, "dirty": dirty, "machine": machine, "quick": args.quick,
                   "benchmarks": {r.name: {"figures": r.figures, "error": r.error, "wall_s": r.wall_s}
                                  for r in results}}
        args.json_out.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

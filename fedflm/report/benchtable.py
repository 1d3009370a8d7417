"""Collect benchmark figures into one table.

Convention shared by every ``simulations/bench_*.py`` script: its LAST line of
standard output is ``BENCH_JSON {...}``, a flat JSON object of figures
(name -> number, string, bool or null). Everything else the script prints is
for humans and ignored here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedflm.errors import DataError
from fedflm.jsonl import read_json
from fedflm.report.results import COMMIT_RE

PREFIX = "BENCH_JSON "
Scalar = int | float | str | bool | None


@dataclass(frozen=True)
class BenchResult:
    """One script's outcome: its figures, or why there are none."""

    name: str
    figures: dict[str, Scalar] = field(default_factory=dict)
    error: str | None = None
    wall_s: float | None = None


def parse_bench_output(stdout: str, *, source: str) -> dict[str, Scalar]:
    """The figures of the last non-empty line, which must be ``BENCH_JSON {flat object}``."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].startswith(PREFIX):
        raise DataError(f"{source}: last output line is not 'BENCH_JSON {{...}}'")
    try:
        figures = json.loads(lines[-1][len(PREFIX):])
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: BENCH_JSON line is not valid JSON ({exc.msg})") from None
    if not isinstance(figures, dict):
        raise DataError(f"{source}: BENCH_JSON must hold a JSON object")
    for key, value in figures.items():
        if isinstance(value, (dict, list)):
            raise DataError(f"{source}: BENCH_JSON figure {key!r} is nested; figures must be flat")
    return figures


def format_value(value: Any) -> str:
    """Numbers with 4 significant digits (integers in full), other values as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def table_rows(results: list[BenchResult]) -> list[tuple[str, str, str]]:
    """(benchmark, figure, value) rows; a failed script yields one row with its error."""
    rows: list[tuple[str, str, str]] = []
    for result in results:
        if result.error is not None:
            rows.append((result.name, "ERROR", result.error))
            continue
        rows.extend((result.name, key, format_value(value)) for key, value in result.figures.items())
    return rows


def render_markdown(results: list[BenchResult], machine: str) -> str:
    """The table as Markdown, headed by the machine it ran on."""
    lines = [f"Benchmarks on {machine}", "", "| benchmark | figure | value |", "|---|---|---|"]
    lines += [f"| {b} | {f} | {v.replace('|', '/')} |" for b, f, v in table_rows(results)]
    return "\n".join(lines) + "\n"


def load_bench_records(folder: Path) -> list[dict[str, Any]]:
    """Saved ``bench_all.py --json-out`` records; each must name its commit and machine."""
    records = []
    for path in sorted(Path(folder).glob("*.json")):
        record = read_json(path)
        commit = record.get("commit") if isinstance(record, dict) else None
        if not isinstance(commit, str) or not COMMIT_RE.match(commit):
            raise DataError(f"{path}: benchmark record has no valid commit (got {commit!r})")
        if not isinstance(record.get("machine"), dict) or not isinstance(record.get("benchmarks"), dict):
            raise DataError(f"{path}: benchmark record needs 'machine' and 'benchmarks' objects")
        records.append({**record, "source": path.name})
    return records


def record_results(record: dict[str, Any]) -> list[BenchResult]:
    """The BenchResults of one saved record, in the record's order."""
    return [BenchResult(name, figures=dict(entry.get("figures") or {}), error=entry.get("error"),
                        wall_s=entry.get("wall_s"))
            for name, entry in record["benchmarks"].items()]


def write_bench_record(path: Path, name: str, figures: dict[str, Scalar], wall_s: float, quick: bool,
                       command: str) -> None:
    """One script's figures as a ``bench_all.py --json-out`` record (commit, machine), so that
    ``simulations/make_results.py`` lists them in RESULTS.md."""
    from fedflm.report.results import git_commit, machine_info

    commit, dirty = git_commit(Path(__file__).resolve().parents[2])
    payload = {"commit": commit, "dirty": dirty, "machine": machine_info(), "quick": quick, "command": command,
               "benchmarks": {name: {"figures": figures, "error": None, "wall_s": wall_s}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def emit_bench(figures: dict[str, Scalar], record: Path | None, name: str, wall_s: float, script: str,
               argv: list[str], quick: bool = False) -> None:
    """Print the ``BENCH_JSON`` line and, with ``record``, also write the figures as a benchmark record."""
    print(PREFIX + json.dumps(figures), flush=True)
    if record:
        write_bench_record(record, name, figures, round(wall_s, 1), quick, f"python {script} " + " ".join(argv))

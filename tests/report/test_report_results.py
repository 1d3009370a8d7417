"""Tests for result rows (fedflm.report.results) and the RESULTS.md generator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.errors import DataError
from fedflm.report.results import load_rows, make_row, summarise, validate_row, write_row
from fedflm.report.results_md import render_results

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "simulations" / "make_results.py"
MACHINE = {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch_threads": 1}


def _row(recipe: str = "sst2-central-nodp", seed: int = 0, accuracy: float = 0.9, **over) -> dict:
    row = make_row(recipe=recipe, dataset="sst2", description="central, no DP", seed=seed,
                   config={"data": {"dataset": "sst2"}, "seed": seed},
                   metrics={"accuracy": accuracy, "macro_f1": accuracy - 0.01, "wall_time_s": 10.0,
                            "bytes_sent": 2e6, "epsilon": None},
                   commit="0123456789abcdef0123456789abcdef01234567", dirty=False, machine=MACHINE,
                   run_dir="runs/x")
    row.update(over)
    return row


def _run_script(results: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    recipes = out.parent / "recipes"  # no recipe files: these rows are checked on their own
    recipes.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, str(SCRIPT), "--results", str(results), "--out", str(out),
                           "--recipes", str(recipes), *extra],
                          capture_output=True, text=True, check=False, cwd=ROOT)


@pytest.mark.parametrize("field, value, message", [
    ("config", None, "row has no config"),
    ("config", {}, "row has no config"),
    ("commit", None, "row has no valid commit"),
    ("commit", "not-a-sha", "row has no valid commit"),
])
def test_rows_without_config_or_commit_are_refused(field: str, value, message: str) -> None:
    # Prepare
    row = _row()
    if value is None:
        del row[field]
    else:
        row[field] = value

    # Execute / Assert
    with pytest.raises(DataError, match=message):
        validate_row(row, source="r.json")


def test_generator_script_refuses_a_row_without_commit(tmp_path: Path) -> None:
    # Prepare: one good row, one row whose commit was dropped
    results = tmp_path / "results"
    write_row(_row(seed=0), results)
    bad = _row(seed=1)
    del bad["commit"]
    (results / "bad.json").write_text(json.dumps(bad))
    out = tmp_path / "RESULTS.md"

    # Execute
    done = _run_script(results, out)

    # Assert: one clear line naming the file, no traceback, nothing written
    assert done.returncode == 2
    assert "bad.json: row has no valid commit" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_generator_writes_mean_and_std_and_references(tmp_path: Path) -> None:
    # Prepare: three seeds with accuracies 0.90, 0.92, 0.94 (mean 92.00, sample std 2.00)
    results = tmp_path / "results"
    for seed, acc in enumerate((0.90, 0.92, 0.94)):
        write_row(_row(seed=seed, accuracy=acc), results)
    out = tmp_path / "RESULTS.md"

    # Execute
    done = _run_script(results, out)

    # Assert
    page = out.read_text(encoding="utf-8")
    assert done.returncode == 0, done.stderr
    assert "| 92.00 ± 2.00 | 91.00 ± 2.00 |" in page
    assert "0123456789" in page and "CPU Test CPU (2 cores, 1 thread(s))" in page
    assert "Yu et al." in page and "Casanueva et al." in page
    assert "other models" in page
    assert _run_script(results, out, "--check").returncode == 0


def test_check_mode_detects_a_stale_page(tmp_path: Path) -> None:
    # Prepare
    results = tmp_path / "results"
    write_row(_row(), results)
    out = tmp_path / "RESULTS.md"
    assert _run_script(results, out).returncode == 0
    write_row(_row(seed=5, accuracy=0.5), results)

    # Execute
    done = _run_script(results, out, "--check")

    # Assert
    assert done.returncode == 1 and "stale" in done.stderr


def test_single_seed_has_no_std_and_dirty_commit_is_marked() -> None:
    # Prepare
    rows = [_row(dirty=True)]

    # Execute
    page = render_results(rows)

    # Assert
    assert "| 90.00 ± — |" in page
    assert "0123456789+dirty" in page


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=6))
def test_summary_mean_is_bounded_by_the_values(accs: list[float]) -> None:
    # Prepare
    rows = [_row(seed=i, accuracy=a) for i, a in enumerate(accs)]

    # Execute
    (summary,) = summarise(rows)

    # Assert
    stat = summary.metrics["accuracy"]
    assert stat is not None and stat.n == len(accs)
    assert min(accs) - 1e-12 <= stat.mean <= max(accs) + 1e-12
    assert (stat.std is None) == (len(accs) == 1)


def test_load_rows_rejects_malformed_json(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "x.json").write_text("{nope")

    # Execute / Assert
    with pytest.raises(DataError, match=r"x.json: not valid JSON"):
        load_rows(tmp_path)


def test_benchmark_records_are_rendered_and_need_a_commit(tmp_path: Path) -> None:
    # Prepare
    results = tmp_path / "results"
    write_row(_row(), results)
    (results / "bench").mkdir()
    record = {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False, "machine": MACHINE,
              "quick": True, "command": "python simulations/audit_empirical.py --quick",
              "benchmarks": {"store": {"figures": {"aead_mb_s": 812.5}, "error": None},
                             "dp": {"figures": {}, "error": "timed out after 900 s"}}}
    (results / "bench" / "cpu.json").write_text(json.dumps(record))
    out = tmp_path / "RESULTS.md"

    # Execute
    good = _run_script(results, out)
    del record["commit"]
    (results / "bench" / "cpu.json").write_text(json.dumps(record))
    bad = _run_script(results, tmp_path / "other.md")

    # Assert
    page = out.read_text(encoding="utf-8")
    assert good.returncode == 0, good.stderr
    assert "### CPU Test CPU (2 cores, 1 thread(s)), commit 0123456789, quick mode (`cpu.json`)" in page
    assert "| store | aead_mb_s | 812.5 |" in page and "| dp | ERROR | timed out after 900 s |" in page
    assert "Command: `python simulations/audit_empirical.py --quick`" in page
    assert bad.returncode == 2 and "cpu.json: benchmark record has no valid commit" in bad.stderr

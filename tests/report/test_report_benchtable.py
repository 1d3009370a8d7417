"""Tests for the benchmark table (fedflm.report.benchtable, simulations/bench_all.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fedflm.errors import DataError
from fedflm.report.benchtable import BenchResult, format_value, parse_bench_output, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_last_line_is_parsed_and_earlier_lines_ignored() -> None:
    # Prepare
    stdout = 'warming up\nBENCH_JSON {"old": 1}\nstep 3/3\nBENCH_JSON {"samples_per_s": 812.5, "device": "cpu"}\n\n'

    # Execute
    figures = parse_bench_output(stdout, source="bench_x.py")

    # Assert
    assert figures == {"samples_per_s": 812.5, "device": "cpu"}


@pytest.mark.parametrize("stdout, message", [
    ("", "last output line is not"),
    ('BENCH_JSON {"a": 1}\ndone\n', "last output line is not"),
    ("BENCH_JSON {a: 1}\n", "not valid JSON"),
    ("BENCH_JSON [1, 2]\n", "must hold a JSON object"),
    ('BENCH_JSON {"a": {"b": 1}}\n', "figures must be flat"),
])
def test_convention_breaches_are_data_errors(stdout: str, message: str) -> None:
    # Execute / Assert
    with pytest.raises(DataError, match=message):
        parse_bench_output(stdout, source="bench_x.py")


def test_values_are_formatted_for_humans() -> None:
    # Execute / Assert
    assert format_value(1234567) == "1,234,567"
    assert format_value(1.23456) == "1.235"
    assert format_value(None) == "—"
    assert format_value(True) == "yes"


def test_markdown_table_lists_figures_and_errors() -> None:
    # Prepare
    results = [BenchResult("dp", {"dp_over_nodp_step": 1.09}), BenchResult("store", error="exit 1: boom")]

    # Execute
    page = render_markdown(results, "CPU test")

    # Assert
    assert "| dp | dp_over_nodp_step | 1.09 |" in page
    assert "| store | ERROR | exit 1: boom |" in page


def test_runner_collects_every_script_and_survives_a_broken_one(tmp_path: Path) -> None:
    # Prepare: two real scripts, one following the convention, one crashing
    (tmp_path / "bench_good.py").write_text(
        "import json, os\nprint('hello')\n"
        "print('BENCH_JSON ' + json.dumps({'mb_per_s': 250.0, 'quick': os.environ.get('FEDFLM_BENCH_QUICK')}))\n")
    (tmp_path / "bench_bad.py").write_text("raise SystemExit('no model here')\n")
    out = tmp_path / "bench.json"

    # Execute
    done = subprocess.run([sys.executable, str(ROOT / "simulations" / "bench_all.py"), "--dir", str(tmp_path),
                           "--quick", "--markdown", "--json-out", str(out)],
                          capture_output=True, text=True, check=False, cwd=ROOT)

    # Assert
    assert done.returncode == 1, done.stderr
    assert "| good | mb_per_s | 250 |" in done.stdout
    assert "| bad | ERROR | exit 1: no model here |" in done.stdout
    saved = json.loads(out.read_text())
    assert saved["benchmarks"]["good"]["figures"] == {"mb_per_s": 250.0, "quick": "1"}
    assert len(saved["commit"]) == 40 and saved["machine"]["cores"] >= 1


def test_emit_bench_prints_the_last_line_and_writes_a_record_results_can_load(tmp_path: Path, capsys) -> None:
    # Prepare
    from fedflm.report.benchtable import emit_bench, load_bench_records, record_results

    figures = {"ce_macro_f1": 0.31, "engine": "in-process"}

    # Execute
    emit_bench(figures, tmp_path / "rec.json", "imbalance", 12.34, "simulations/bench_imbalance.py", ["--seed", "1"])

    # Assert: the printed line follows the convention; the record names the script's command and its figures
    assert parse_bench_output(capsys.readouterr().out, source="x") == figures
    (record,) = load_bench_records(tmp_path)
    assert record["command"] == "python simulations/bench_imbalance.py --seed 1"
    (result,) = record_results(record)
    assert (result.name, result.figures, result.wall_s) == ("imbalance", figures, 12.3)

"""A tiny real federation, run as a recipe: result row, RESULTS.md and a full report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fedflm.errors import ConfigError
from fedflm.report.html import SECTIONS
from fedflm.bench.recipes import load_recipe
from fedflm.cli.main import main
from fedflm.report.results import load_rows
from fedflm.report.results_md import render_results
from one_actor import ONE_ACTOR

ROOT = Path(__file__).resolve().parents[2]
IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,')

TINY_RECIPE = """
[recipe]
name = "tiny-fed-dp"
description = "tiny random BERT, 2 clients, IID, DP-SGD eps 8"
seeds = [0]

[data]
dataset = "sst2"
partition = "iid"
samples_per_client = 48
eval_samples = 64
max_length = 32

[model]
model = "{model}"

[train]
batch_size = 16

[fed]
clients = 2
rounds = 2

[privacy]
dp = "sample"
epsilon = 8.0
delta = 1e-5
"""


@pytest.mark.slow
def test_tiny_dp_recipe_writes_row_results_and_complete_report(tmp_path: Path, tiny_model_dir: Path) -> None:
    # Prepare
    recipe = tmp_path / "tiny-fed-dp.toml"
    recipe.write_text(TINY_RECIPE.format(model=tiny_model_dir))
    results = tmp_path / "results"

    # Execute: `fedflm bench`, both clients in one actor (--client-cpus: every core for one client)
    code = main(["bench", str(recipe), "--recipes-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs"),
                 "--results", str(results), "--repo", str(ROOT), "--client-cpus", str(ONE_ACTOR.client_cpus)])

    # Assert: the row is written, complete, and RESULTS.md can be generated from it
    assert code == 0
    (row,) = load_rows(results)
    assert row["config"]["fed"]["clients"] == 2 and row["config"]["fed"]["seed"] == 0
    assert row["machine"]["torch_threads"] == int(ONE_ACTOR.client_cpus)  # the CPUs the one actor reserved
    summary = json.loads((ROOT / row["run_dir"] / "summary.json").read_text())
    matrix = summary["confusion_matrix"]  # rows: true labels of the 64 held-out examples
    assert sum(map(sum, matrix)) == 64
    assert row["metrics"]["accuracy"] == pytest.approx(sum(matrix[k][k] for k in range(len(matrix))) / 64)
    assert row["metrics"]["bytes_sent"] > 0
    assert 0.0 < row["metrics"]["epsilon"] <= 8.0 * 1.0001  # spent, and within the target
    assert "| `tiny-fed-dp` |" in render_results(load_rows(results))
    # ... and the run's report has every section, with the figures a non-DP run can have
    page = (ROOT / row["run_dir"] / "report.html").read_text(encoding="utf-8")
    for section_id in SECTIONS:
        assert f'data-section="{section_id}"' in page
    figures = IMG.findall(page)
    assert len(figures) == 5, figures  # clients, metrics, epsilon, confusion, bytes (a DP client sends no loss)
    assert "Budget ε = 8" in page
    assert "NO FORMAL PRIVACY" not in page


def test_recipe_refuses_seed_in_config_and_unknown_keys(tmp_path: Path) -> None:
    # Prepare
    with_seed = tmp_path / "a.toml"
    with_seed.write_text('[recipe]\nname = "a"\nseeds = [0]\n[fed]\nseed = 3\n')
    unknown = tmp_path / "b.toml"
    unknown.write_text('[recipe]\nname = "b"\nseeds = [0]\n[train]\nlearning_rate = 0.1\n')

    # Execute / Assert
    with pytest.raises(ConfigError, match="set seeds in \\[recipe\\]"):
        load_recipe(with_seed)
    with pytest.raises(ConfigError, match="learning_rate"):
        load_recipe(unknown)

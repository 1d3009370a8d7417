"""A causal-LM recipe run by the recipe runner on a tiny random Llama: its result row carries the
perplexity before and after, and RESULTS.md renders it in the causal-LM table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe, run_and_record
from fedflm.report.results import load_rows
from fedflm.report.results_md import render_results
from one_actor import ONE_ACTOR

ROOT = Path(__file__).resolve().parents[2]

TINY_CAUSAL_RECIPE = """
[recipe]
name = "tiny-causal-dp"
description = "tiny random Llama, 2 owners, DP-SGD eps 8"
seeds = [3]
task = "causal-lm"

[causal-lm]
dataset = "synthetic:130"
model = "{model}"
clients = 2
rounds = 2
local_steps = 8
batch_size = 16
lr = 0.01
max_length = 48
prompts = 1
dp = "sample"
epsilon = 8.0
"""


@pytest.mark.slow  # starts Ray: the real ServerApp and ClientApp in Flower's Simulation Engine
@pytest.mark.federation
def test_causal_recipe_writes_a_perplexity_row_and_results_table(tiny_llama_dir: Path, tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "tiny-causal-dp.toml"
    path.write_text(TINY_CAUSAL_RECIPE.format(model=tiny_llama_dir))
    results = tmp_path / "results"

    # Execute
    (row,) = run_and_record(str(path), seeds=None, recipes_dir=tmp_path, runs_dir=tmp_path / "runs",
                            results_dir=results, repo=ROOT, resources=ONE_ACTOR)  # both clients in one actor

    # Assert: the row holds the run's own figures and config, and matches its recipe
    summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
    m = row["metrics"]
    assert (m["perplexity_before"], m["perplexity_after"]) == (summary["perplexity_before"],
                                                                 summary["perplexity_after"])
    assert m["perplexity_after"] < m["perplexity_before"]
    assert m["accuracy"] is None and m["bytes_sent"] > 0
    assert 7.0 < m["epsilon"] <= 8.0
    assert row["dataset"] == "causal-lm/synthetic"
    assert row["config"]["causal-lm"]["seed"] == 3 and row["config"]["causal-lm"]["run_id"]
    page = render_results(load_rows(results, {"tiny-causal-dp": load_recipe(path)}))
    assert f"| {m['perplexity_before']:.2f} ± — | {m['perplexity_after']:.2f} ± — |" in page
    assert "Causal-LM runs:" in page
    assert (Path(row["run_dir"]) / "report.html").is_file()

"""A recommendation recipe run by the recipe runner on a tiny random BERT: its result row carries the held-out
users' ranking figures and the popularity baseline, and RESULTS.md renders it in the recommendation table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe, run_and_record
from fedflm.report.results import load_rows
from fedflm.report.results_md import render_results
from one_actor import ONE_ACTOR

ROOT = Path(__file__).resolve().parents[2]

TINY_RECOMMEND_RECIPE = """
[recipe]
name = "tiny-recommend-dp"
description = "tiny random BERT, 2 owners, DP-SGD eps 8, one user = one unit"
seeds = [3]
task = "recommend"

[recommend]
dataset = "synthetic:100"
model = "{model}"
pooling = "mean"
clients = 2
rounds = 2
local_steps = 10
batch_size = 8
lr = 0.01
max_length = 64
embed_dim = 8
eval_negatives = 20
dp = "sample"
epsilon = 8.0
"""


@pytest.mark.slow  # starts Ray: the real ServerApp and ClientApp in Flower's Simulation Engine
@pytest.mark.federation
def test_recommend_recipe_writes_a_ranking_row_and_results_table(tiny_rec_model: Path, tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "tiny-recommend-dp.toml"
    path.write_text(TINY_RECOMMEND_RECIPE.format(model=tiny_rec_model))
    results = tmp_path / "results"

    # Execute
    (row,) = run_and_record(str(path), seeds=None, recipes_dir=tmp_path, runs_dir=tmp_path / "runs",
                            results_dir=results, repo=ROOT, resources=ONE_ACTOR)  # both clients in one actor

    # Assert: the row holds the run's own figures and config, and matches its recipe
    summary = json.loads((Path(row["run_dir"]) / "summary.json").read_text())
    m = row["metrics"]
    assert (m["auc_before"], m["auc"], m["ndcg_at_10"]) == (summary["before"]["auc"], summary["after"]["auc"],
                                                            summary["after"]["ndcg_at_10"])
    assert m["popularity_auc"] == summary["popularity_baseline"]["auc"]
    assert m["accuracy"] is None and m["perplexity_after"] is None and m["bytes_sent"] > 0
    assert 7.0 < m["epsilon"] <= 8.0
    assert row["dataset"] == "recommend/synthetic"
    assert row["config"]["recommend"]["seed"] == 3 and row["config"]["recommend"]["run_id"]
    page = render_results(load_rows(results, {"tiny-recommend-dp": load_recipe(path)}))
    assert f"| {m['auc_before']:.3f} ± — | {m['auc']:.3f} ± — |" in page
    assert "Recommendation runs:" in page
    assert (Path(row["run_dir"]) / "report.html").is_file()

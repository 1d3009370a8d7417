"""Recommendation result rows: ranking metrics, config checks against the recommend defaults, RESULTS.md table."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe
from fedflm.errors import DataError
from fedflm.recommend.config import RecommendRunConfig
from fedflm.report.results import check_matches_recipes, check_same_config, make_row, model_label, validate_row
from fedflm.report.results_md import render_results

MACHINE = {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch_threads": 1}
RECIPE = '[recipe]\nname = "r"\nseeds = [0]\ntask = "recommend"\n[recommend]\ndataset = "synthetic:600"\nembed-dim = 32\n'


def _config(seed: int = 0, **over) -> dict:
    """A recommend row's resolved config as the runner stores it (the run's config.toml, flat)."""
    flat = RecommendRunConfig(dataset="synthetic:600", embed_dim=32, seed=seed, out=f"runs/s{seed}").to_flat()
    return {"recommend": {k: "" if v is None else v for k, v in flat.items()} | over}


def _row(seed: int = 0, auc: float = 0.8, ndcg: float = 0.5, **over) -> dict:
    metrics = {"auc_before": 0.5, "auc": auc, "hit_rate_at_10": 0.9, "ndcg_at_10": ndcg, "popularity_auc": 0.74,
               "popularity_hit_rate_at_10": 0.775, "popularity_ndcg_at_10": 0.343, "wall_time_s": 300.0,
               "bytes_sent": 4e5, "epsilon": 7.9}
    return make_row(recipe="r", dataset="recommend/synthetic", description="synthetic", seed=seed,
                    config=_config(seed, **over), metrics=metrics,
                    commit="0123456789abcdef0123456789abcdef01234567", dirty=False, machine=MACHINE, run_dir="runs/x")


def test_a_recommend_row_needs_its_ranking_metrics_not_accuracy() -> None:
    # Prepare
    row = _row()
    broken = _row()
    broken["metrics"]["ndcg_at_10"] = None

    # Execute / Assert
    validate_row(row, source="r.json")
    assert row["metrics"]["accuracy"] is None
    with pytest.raises(DataError, match="r.json: metric ndcg_at_10 missing or not a number"):
        validate_row(broken, source="r.json")


def test_recommend_seeds_differing_only_in_per_run_keys_are_accepted_and_others_refused(tmp_path: Path) -> None:
    # Prepare
    same = [(Path("a.json"), _row(0)), (Path("b.json"), _row(1, run_id="x"))]
    other = [(Path("a.json"), _row(0)), (Path("b.json"), _row(1, lr=0.5))]
    path = tmp_path / "r.toml"
    path.write_text(RECIPE)

    # Execute / Assert
    check_same_config(same)
    check_matches_recipes([(Path("r.json"), _row())], {"r": load_recipe(path)})
    with pytest.raises(DataError, match="b.json: recipe 'r' ran with recommend.lr = 0.5"):
        check_same_config(other)
    with pytest.raises(DataError, match="r.json: ran recommend.embed_dim = 16, but .*r.toml now says 32"):
        check_matches_recipes([(Path("r.json"), _row(embed_dim=16))], {"r": load_recipe(path)})


def test_results_page_has_a_ranking_table_against_popularity() -> None:
    # Prepare
    rows = [_row(0, 0.80, 0.50), _row(1, 0.90, 0.60)]

    # Execute
    page = render_results(rows, recipes={"r": "recommend/synthetic"})

    # Assert
    assert "| AUC before | AUC after | HitRate@10 | NDCG@10 | popularity AUC |" in page
    assert "| 0.500 ± 0.000 | 0.850 ± 0.071 | 0.900 ± 0.000 | 0.550 ± 0.071 | 0.740 ± 0.000 |" in page
    assert "| `r` | 0 | 0.800 | 0.500 |" in page and "Recommendation runs:" in page
    assert "## Recommendation: the built-in generated interaction log" in page
    assert model_label(rows[0]["config"]).startswith("all-MiniLM-L6-v2 (22.7 M), frozen bi-encoder")

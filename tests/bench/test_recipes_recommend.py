"""Recommendation recipes (``task = "recommend"`` in ``[recipe]``, settings in one ``[recommend]`` table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe, row_line, run_config
from fedflm.errors import ConfigError
from fedflm.recommend.config import RecommendRunConfig

RECIPES = Path(__file__).resolve().parents[2] / "simulations" / "recipes"

HEAD = '[recipe]\nname = "r"\nseeds = [0]\ntask = "recommend"\n'


def test_shipped_recommend_pair_differs_only_in_privacy() -> None:
    # Prepare
    nodp = load_recipe(RECIPES / "recommend-synthetic-nodp.toml")
    eps8 = load_recipe(RECIPES / "recommend-synthetic-eps8.toml")

    # Execute
    a, b = run_config(nodp, 0, Path("x")), run_config(eps8, 0, Path("x"))

    # Assert
    assert isinstance(a, RecommendRunConfig) and nodp.dataset == eps8.dataset == "recommend/synthetic"
    assert (a.privacy.dp, b.privacy.dp, b.privacy.epsilon) == ("none", "sample", 8.0)
    assert a.dataset.startswith("synthetic:") and a.model == "minilm"
    assert {k for k, v in a.to_flat().items() if b.to_flat()[k] != v} <= {"dp", "epsilon", "delta"}


def test_runner_sets_seed_and_out(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "r.toml"
    path.write_text(HEAD + '[recommend]\ndataset = "synthetic:50"\nclients = 3\nembed-dim = 8\n')

    # Execute
    cfg = run_config(load_recipe(path), 7, tmp_path / "run")

    # Assert
    assert (cfg.seed, cfg.out, cfg.clients, cfg.embed_dim) == (7, str(tmp_path / "run"), 3, 8)


@pytest.mark.parametrize("body, message", [
    ('[recommend]\nseed = 3\n', "set seeds in \\[recipe\\], not recommend.seed"),
    ('[recommend]\nclients = 2\n[causal-lm]\nrounds = 2\n', "one \\[recommend\\] table"),
    ('[recommend]\nprompts = 2\n', "not a --task recommend setting: prompts"),
    ('[recommend]\ndp = "client"\n', "dp must be sample \\(one user = one privacy unit\\) or none"),
])
def test_bad_recommend_recipe_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    # Prepare
    path = tmp_path / "r.toml"
    path.write_text(HEAD + body)

    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        load_recipe(path)


def test_row_line_prints_the_ranking_figures() -> None:
    # Prepare
    row = {"recipe": "r", "seed": 0, "result_file": "r.json",
           "metrics": {"auc_before": 0.51, "auc": 0.8625, "hit_rate_at_10": 0.95, "ndcg_at_10": 0.539,
                       "popularity_auc": 0.74, "popularity_ndcg_at_10": 0.343, "perplexity_after": None,
                       "epsilon": 7.99, "wall_time_s": 120.4}}

    # Execute / Assert
    assert row_line(row) == ("r seed 0: AUC 0.5100 -> 0.8625, HitRate@10 0.9500, NDCG@10 0.5390 (popularity AUC "
                             "0.7400, NDCG@10 0.3430), epsilon 7.99, wall 120 s -> r.json")

"""Causal-LM recipes (``task = "causal-lm"`` in ``[recipe]``, settings in one ``[causal-lm]`` table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe, row_line, run_config
from fedflm.causal.config import CausalRunConfig
from fedflm.errors import ConfigError

RECIPES = Path(__file__).resolve().parents[2] / "simulations" / "recipes"

HEAD = '[recipe]\nname = "c"\nseeds = [0]\ntask = "causal-lm"\n'


def test_shipped_causal_pair_differs_only_in_privacy() -> None:
    # Prepare
    nodp = load_recipe(RECIPES / "causal-synthetic-nodp-smoke.toml")
    eps8 = load_recipe(RECIPES / "causal-synthetic-eps8-smoke.toml")

    # Execute
    a, b = run_config(nodp, 0, Path("x")), run_config(eps8, 0, Path("x"))

    # Assert
    assert isinstance(a, CausalRunConfig) and nodp.dataset == eps8.dataset == "causal-lm/synthetic"
    assert (a.privacy.dp, b.privacy.dp, b.privacy.epsilon) == ("none", "sample", 8.0)
    assert a.model == "smollm2" and a.dataset.startswith("synthetic:")
    assert {k for k, v in a.to_flat().items() if b.to_flat()[k] != v} <= {"dp", "epsilon", "delta"}


def test_runner_sets_seed_and_out(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "c.toml"
    path.write_text(HEAD + '[causal-lm]\ndataset = "synthetic:50"\nclients = 3\n')

    # Execute
    cfg = run_config(load_recipe(path), 7, tmp_path / "run")

    # Assert
    assert (cfg.seed, cfg.out, cfg.clients, cfg.dataset) == (7, str(tmp_path / "run"), 3, "synthetic:50")


@pytest.mark.parametrize("body, message", [
    ('[causal-lm]\nseed = 3\n', "set seeds in \\[recipe\\], not causal-lm.seed"),
    ('[causal-lm]\nclients = 2\n[fed]\nrounds = 2\n', "one \\[causal-lm\\] table"),
    ('[causal-lm]\nlearning_rate = 0.1\n', "learning_rate"),
    ('[causal-lm]\ndp = "client"\n', "dp must be sample or none"),
])
def test_bad_causal_recipe_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    # Prepare
    path = tmp_path / "c.toml"
    path.write_text(HEAD + body)

    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        load_recipe(path)


def test_unknown_task_is_refused(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "c.toml"
    path.write_text('[recipe]\nname = "c"\nseeds = [0]\ntask = "translate"\n')

    # Execute / Assert
    with pytest.raises(ConfigError, match="task must be one of classify, causal-lm, recommend, got 'translate'"):
        load_recipe(path)


@pytest.mark.parametrize("metrics, expected", [
    ({"perplexity_before": 17.34, "perplexity_after": 1.2849, "epsilon": None, "wall_time_s": 491.2},
     "c seed 0: perplexity 17.340 -> 1.285, epsilon none, wall 491 s -> r.json"),
    ({"accuracy": 0.8, "macro_f1": 0.75, "perplexity_after": None, "epsilon": 7.994, "wall_time_s": None},
     "c seed 0: accuracy 0.8000, macro-F1 0.7500, epsilon 7.99, wall ? s -> r.json"),
])
def test_row_line_prints_the_task_s_figures(metrics: dict, expected: str) -> None:
    # Prepare
    row = {"recipe": "c", "seed": 0, "metrics": metrics, "result_file": "r.json"}

    # Execute / Assert
    assert row_line(row) == expected

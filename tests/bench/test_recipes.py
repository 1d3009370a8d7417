"""The shipped recipes load, validate, and cover the matrix the results table promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe, run_config

RECIPES = Path(__file__).resolve().parents[2] / "simulations" / "recipes"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_recipe_is_a_valid_run_config(path: Path, tmp_path: Path) -> None:
    # Execute
    recipe = load_recipe(path)
    cfg = run_config(recipe, recipe.seeds[0], tmp_path / "out")

    # Assert
    assert recipe.name == path.stem
    if recipe.task in ("causal-lm", "recommend"):  # flat configs: held-out records / users carved from the data
        assert cfg.seed == recipe.seeds[0] and cfg.out == str(tmp_path / "out")
        return
    assert cfg.fed.seed == recipe.seeds[0] and cfg.fed.out == str(tmp_path / "out")
    assert cfg.data.eval_samples == 0  # the full published eval split, comparable with the references


@pytest.mark.parametrize("dataset", ["sst2", "banking77"])
def test_recipe_matrix_is_complete(dataset: str) -> None:
    # Prepare
    recipes = {p.stem: load_recipe(p) for p in RECIPES.glob(f"{dataset}-*.toml")}

    # Execute
    configs = {name: run_config(r, 0, Path("x")) for name, r in recipes.items()}

    # Assert
    central = configs[f"{dataset}-central-nodp"]
    assert central.fed.clients == 1 and central.privacy.dp == "none" and central.data.samples_per_client == 0
    for eps in (1, 3, 8):
        c = configs[f"{dataset}-central-dp-eps{eps}"]
        assert (c.fed.clients, c.privacy.dp, c.privacy.epsilon) == (1, "sample", float(eps))
        f = configs[f"{dataset}-fed-dp-eps{eps}"]
        assert (f.fed.clients, f.privacy.dp, f.privacy.epsilon, f.data.partition) == (
            10, "sample", float(eps), "dirichlet:0.5")
    for tag, partition in (("iid", "iid"), ("dir1.0", "dirichlet:1.0"), ("dir0.3", "dirichlet:0.3")):
        c = configs[f"{dataset}-fed-{tag}-nodp"]
        assert (c.data.partition, c.privacy.dp, c.fed.clients) == (partition, "none", 10)

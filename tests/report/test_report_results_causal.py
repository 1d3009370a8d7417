"""Causal-LM result rows: perplexity metrics, config checks against the causal defaults, RESULTS.md table."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.bench.recipes import load_recipe
from fedflm.causal.config import CausalRunConfig
from fedflm.errors import DataError
from fedflm.report.results import check_matches_recipes, check_same_config, make_row, model_label, validate_row
from fedflm.report.results_md import render_results

MACHINE = {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch_threads": 1}
RECIPE = '[recipe]\nname = "c"\nseeds = [0]\ntask = "causal-lm"\n[causal-lm]\ndataset = "synthetic:200"\nmax-length = 256\n'


def _config(seed: int = 0, **over) -> dict:
    """A causal row's resolved config as the runner stores it (the run's config.toml, flat)."""
    flat = CausalRunConfig(dataset="synthetic:200", seed=seed, out=f"runs/s{seed}").to_flat()
    return {"causal-lm": {k: "" if v is None else v for k, v in flat.items()} | over}


def _row(seed: int = 0, before: float = 17.3, after: float = 1.3, **over) -> dict:
    return make_row(recipe="c", dataset="causal-lm/synthetic", description="smoke", seed=seed,
                    config=_config(seed, **over),
                    metrics={"perplexity_before": before, "perplexity_after": after, "wall_time_s": 300.0,
                             "bytes_sent": 4e6, "epsilon": None},
                    commit="0123456789abcdef0123456789abcdef01234567", dirty=False, machine=MACHINE,
                    run_dir="runs/x")


def test_a_causal_row_needs_its_perplexities_not_accuracy() -> None:
    # Prepare
    row = _row()
    broken = _row()
    broken["metrics"]["perplexity_after"] = None

    # Execute / Assert
    validate_row(row, source="r.json")  # no accuracy needed
    assert row["metrics"]["accuracy"] is None
    with pytest.raises(DataError, match="r.json: metric perplexity_after missing or not a number"):
        validate_row(broken, source="r.json")


def test_causal_seeds_differing_only_in_per_run_keys_are_accepted_and_others_refused() -> None:
    # Prepare
    same = [(Path("a.json"), _row(0)), (Path("b.json"), _row(1))]
    other_lr = [(Path("a.json"), _row(0)), (Path("b.json"), _row(1, lr=0.01))]

    # Execute / Assert
    check_same_config(same)
    with pytest.raises(DataError, match="b.json: recipe 'c' ran with causal-lm.lr = 0.01"):
        check_same_config(other_lr)


def test_a_causal_row_is_checked_against_its_recipe_file(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "c.toml"
    path.write_text(RECIPE)
    recipes = {"c": load_recipe(path)}
    stale = _row(max_length=128)

    # Execute / Assert
    check_matches_recipes([(Path("r.json"), _row())], recipes)
    with pytest.raises(DataError, match="r.json: ran causal-lm.max_length = 128, but .*c.toml now says 256"):
        check_matches_recipes([(Path("r.json"), stale)], recipes)


def test_results_page_has_a_causal_table_with_perplexity_and_a_label() -> None:
    # Prepare
    rows = [_row(0, 17.0, 1.5), _row(1, 19.0, 2.5)]

    # Execute
    page = render_results(rows, recipes={"c": "causal-lm/synthetic"})

    # Assert
    assert "| perplexity before | perplexity after |" in page
    assert "| 18.00 ± 1.41 | 2.00 ± 0.71 |" in page  # mean ± sample std over the two seeds
    assert "| `c` | 0 | 17.00 | 1.50 |" in page and "Causal-LM runs:" in page
    assert model_label(rows[0]["config"]).startswith("SmolLM2-135M-Instruct + LoRA r=8, causal LM")

"""One recipe name means one config: rows of a recipe that ran different configs, or a config its recipe
file no longer says, are refused."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from fedflm.errors import DataError
from fedflm.bench.recipes import Recipe, load_recipe
from fedflm.report.results import load_rows, make_row, model_label, write_row

SCRIPT = Path(__file__).resolve().parents[2] / "simulations" / "make_results.py"

MACHINE = {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch_threads": 1}
CONFIG = {"data": {"dataset": "sst2", "text_column": ""},
          "fed": {"clients": 10, "seed": 0, "out": "runs/a"},
          "model": {"model": "minilm", "lora_r": 8, "lora_layers": 0},
          "train": {"lr": 0.005}}


def _write(results: Path, seed: int, config: dict, recipe: str = "r") -> Path:
    row = make_row(recipe=recipe, dataset="sst2", description="d", seed=seed, config=config,
                   metrics={"accuracy": 0.8, "macro_f1": 0.79}, commit="0" * 40, dirty=False,
                   machine=MACHINE, run_dir="runs/x")
    return write_row(row, results)


def _config(**changes: object) -> dict:
    config = copy.deepcopy(CONFIG)
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        if value is None:
            del config[section][key]
        else:
            config[section][key] = value
    return config


def test_seeds_differing_only_in_per_run_keys_are_accepted(tmp_path: Path) -> None:
    # Prepare
    _write(tmp_path, 0, CONFIG)
    _write(tmp_path, 1, _config(fed__seed=1, fed__out="runs/b"))

    # Execute
    rows = load_rows(tmp_path)

    # Assert
    assert sorted(r["seed"] for r in rows) == [0, 1]


def test_a_seed_run_with_another_learning_rate_is_refused(tmp_path: Path) -> None:
    # Prepare: the recipe's lr was edited after seed 0 ran
    _write(tmp_path, 0, CONFIG)
    _write(tmp_path, 1, _config(fed__seed=1, train__lr=0.01))

    # Execute / Assert
    with pytest.raises(DataError, match=r"recipe 'r' ran with train.lr = 0.01, but r__seed0__0000000.json "
                                        r"ran it with 0.005"):
        load_rows(tmp_path)


def test_a_key_older_rows_lack_counts_as_its_default(tmp_path: Path) -> None:
    # Prepare: seed 0 ran before lora_layers existed (default 0); seed 1 has it at 0, seed 2 at 2
    _write(tmp_path, 0, _config(model__lora_layers=None))
    _write(tmp_path, 1, _config(fed__seed=1))
    assert len(load_rows(tmp_path)) == 2
    _write(tmp_path, 2, _config(fed__seed=2, model__lora_layers=2))

    # Execute / Assert
    with pytest.raises(DataError, match=r"model.lora_layers = 2"):
        load_rows(tmp_path)


def test_different_recipes_may_differ(tmp_path: Path) -> None:
    # Prepare
    _write(tmp_path, 0, CONFIG, recipe="a")
    _write(tmp_path, 0, _config(train__lr=0.01), recipe="b")

    # Execute / Assert
    assert {r["recipe"] for r in load_rows(tmp_path)} == {"a", "b"}


def _recipe(tmp_path: Path, name: str = "r", lr: float = 0.005) -> Recipe:
    path = tmp_path / "recipes" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'[recipe]\nname = "{name}"\nseeds = [0]\n\n[data]\ndataset = "sst2"\n\n'
                    f'[fed]\nclients = 10\n\n[model]\nlora_r = 8\n\n[train]\nlr = {lr}\n', encoding="utf-8")
    return load_recipe(path)


def test_a_row_matching_its_recipe_file_is_accepted(tmp_path: Path) -> None:
    # Prepare: the recipe leaves model.model and lora_layers at their defaults; the row spells them out
    recipe = _recipe(tmp_path)
    _write(tmp_path / "results", 0, CONFIG)

    # Execute
    rows = load_rows(tmp_path / "results", {"r": recipe})

    # Assert
    assert [r["recipe"] for r in rows] == ["r"]


def test_a_row_whose_recipe_file_changed_since_is_refused(tmp_path: Path) -> None:
    # Prepare: the row ran with lr 0.005; the recipe file now says 0.01
    recipe = _recipe(tmp_path, lr=0.01)
    _write(tmp_path / "results", 0, CONFIG)

    # Execute / Assert: one line naming the row, the key, both values and the recipe file
    with pytest.raises(DataError, match=r"r__seed0__0000000.json: ran train.lr = 0.005, but .*r.toml now says "
                                        r"0.01; rerun the recipe, or delete the stale row"):
        load_rows(tmp_path / "results", {"r": recipe})


def test_rows_of_recipes_without_a_file_are_checked_on_their_own(tmp_path: Path) -> None:
    # Prepare: a row of recipe "gone", and only recipe "r" on disk
    _write(tmp_path / "results", 0, _config(train__lr=0.5), recipe="gone")

    # Execute
    rows = load_rows(tmp_path / "results", {"r": _recipe(tmp_path)})

    # Assert
    assert [r["recipe"] for r in rows] == ["gone"]


def test_generator_script_refuses_a_stale_row(tmp_path: Path) -> None:
    # Prepare
    _recipe(tmp_path, lr=0.01)
    _write(tmp_path / "results", 0, CONFIG)
    out = tmp_path / "RESULTS.md"

    # Execute
    done = subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path / "results"),
                           "--recipes", str(tmp_path / "recipes"), "--out", str(out)],
                          capture_output=True, text=True, check=False)

    # Assert: exit 2, one clear line, nothing written
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "ran train.lr = 0.005" in done.stderr
    assert not out.exists()


def test_rows_from_before_training_modes_are_the_old_lora_model_not_todays_default(tmp_path: Path) -> None:
    # Prepare: seed 0 ran before train_mode existed (LoRA on the CLS pooler); seed 1 ran head mode
    _write(tmp_path, 0, CONFIG)
    _write(tmp_path, 1, _config(fed__seed=1, train__train_mode="head", model__pooling="auto"))

    # Execute / Assert: not one config, although today's default train_mode is head
    with pytest.raises(DataError, match=r"model.pooling = 'auto'.* ran it with 'cls-pooler'"):
        load_rows(tmp_path)


def test_model_label_tells_the_old_lora_model_from_head_mode() -> None:
    # Execute
    old = model_label(CONFIG)
    head = model_label(_config(train__train_mode="head", model__pooling="auto"))
    proto = model_label(_config(train__train_mode="head", model__pooling="auto", train__proto_fraction=0.5))
    named = model_label(_config(train__train_mode="head", model__pooling="auto", train__proto_fraction=0.5,
                                train__name_prior=0.5))
    lora = model_label(_config(train__train_mode="lora", model__pooling="auto"))

    # Assert
    assert old == "all-MiniLM-L6-v2 (22.7 M) + LoRA r=8, random head on the CLS pooler (before issue 15)"
    assert head == "all-MiniLM-L6-v2 (22.7 M), linear head only (frozen encoder, auto pooling)"
    assert "LoRA" not in head and proto.endswith(", DP-prototype init")
    assert named.endswith(", DP-prototype init + class-name prior")
    assert lora == "all-MiniLM-L6-v2 (22.7 M) + LoRA r=8"


def test_a_head_row_from_before_prototypes_does_not_match_a_recipe_that_now_trains_them(tmp_path: Path) -> None:
    # Prepare: a head-mode row without proto_fraction (it trained no prototype head); the recipe
    # leaves proto_fraction at today's default (> 0)
    recipe = _recipe(tmp_path)
    _write(tmp_path / "results", 0, _config(train__train_mode="head", model__pooling="auto"))

    # Execute / Assert
    with pytest.raises(DataError, match=r"ran train.proto_fraction = 0.0, but .* now says 0.8"):
        load_rows(tmp_path / "results", {"r": recipe})

"""One recipe name means one config: rows of a recipe that ran different configs are refused."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from fedflm.errors import DataError
from fedflm.report.results import load_rows, make_row, write_row

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

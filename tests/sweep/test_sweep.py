"""fedflm sweep: grid parsing, validation carved from training data, ranked table with epsilon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.config import RunConfig
from fedflm.data.load import load_federated_data
from fedflm.errors import ConfigError
from fedflm.sweep.grid import parse_grid, setting_config, settings, validation_config
from fedflm.sweep.table import markdown, ranked
from one_actor import ONE_ACTOR


def test_grid_expands_to_every_combination() -> None:
    # Execute
    grid = parse_grid(["lr=0.01,0.05", "max-grad-norm=0.1,1"])

    # Assert
    assert grid == {"lr": ["0.01", "0.05"], "max_grad_norm": ["0.1", "1"]}
    assert settings(grid) == [{"lr": "0.01", "max_grad_norm": "0.1"}, {"lr": "0.01", "max_grad_norm": "1"},
                              {"lr": "0.05", "max_grad_norm": "0.1"}, {"lr": "0.05", "max_grad_norm": "1"}]


@pytest.mark.parametrize(("item", "message"), [("lr", "expected KEY=V1"), ("speed=1,2", "unknown config key"),
                                               ("dataset=sst2,banking77", "cannot be swept")])
def test_bad_grids_are_refused(item: str, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        parse_grid([item])


def test_validation_is_carved_from_training_data_never_the_test_split() -> None:
    # Prepare
    base = RunConfig.from_flat({"dataset": "banking77", "eval_fraction": 0.1})
    test_texts = set(load_federated_data(base.data, seed=0).eval["text"])

    # Execute
    data = load_federated_data(validation_config(base).data, seed=0)

    # Assert: the validation rows are training rows, none of them from the test split
    train_texts = set(load_federated_data(base.data, seed=0).train["text"])
    assert len(data.eval) == pytest.approx(0.1 * len(train_texts), abs=80)
    assert set(data.eval["text"]) <= train_texts
    assert not set(data.eval["text"]) & (test_texts - train_texts)
    assert len(data.label_names) == 77


def test_a_user_eval_file_is_ignored_by_the_sweep(tmp_path: Path) -> None:
    # Prepare
    base = RunConfig.from_flat({"dataset": str(tmp_path / "train.csv"), "eval_file": str(tmp_path / "test.csv")})

    # Execute
    cfg = setting_config(base, {"lr": "0.02"}, str(tmp_path / "s1"))

    # Assert
    assert cfg.data.eval_file is None and cfg.train.lr == 0.02 and cfg.fed.out == str(tmp_path / "s1")


def test_rows_are_ranked_by_the_metric_and_show_epsilon() -> None:
    # Prepare
    rows = [{"setting": {"lr": "0.01"}, "metric": "accuracy", "value": 0.6, "epsilon": 7.95, "wall_s": 3},
            {"setting": {"lr": "0.1"}, "metric": "accuracy", "value": float("nan"), "epsilon": None},
            {"setting": {"lr": "0.05"}, "metric": "accuracy", "value": 0.8, "epsilon": 7.96, "wall_s": 4}]

    # Execute
    order = ranked(rows)
    text = markdown(order, ["lr"])

    # Assert
    assert [r["setting"]["lr"] for r in order] == ["0.05", "0.01", "0.1"]
    assert "| 1 | 0.05 | 0.8000 | 7.96 |" in text and "| 3 | 0.1 | failed | — |" in text


@pytest.mark.slow  # two Flower simulations (Ray) with the tiny model
def test_a_sweep_runs_each_setting_and_records_its_epsilon(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Prepare
    from fedflm.sweep.run import run_sweep
    base = RunConfig.from_flat({"dataset": "sst2", "model": str(tiny_model_dir), "clients": 2, "rounds": 1,
                                "partition": "iid", "samples_per_client": 60, "eval_fraction": 0.002,
                                "train_mode": "head", "batch_size": 16, "local_steps": 3, "epsilon": 4.0})

    # Execute
    rows = run_sweep(base, {"lr": ["0.001", "0.1"]}, tmp_path / "sweep", resources=ONE_ACTOR)

    # Assert
    saved = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert len(rows) == 2 and saved["rows"] == json.loads(json.dumps(rows))
    assert rows[0]["value"] >= rows[1]["value"]
    assert all(3.9 <= r["epsilon"] <= 4.0 for r in rows)
    assert (tmp_path / "sweep" / "sweep.md").read_text().count("\n") == 4

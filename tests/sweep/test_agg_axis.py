"""fedflm sweep's aggregation axis: strategy and its knobs, from --grid or [sweep.grid], checked before running."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedflm.cli.main import main
from fedflm.config import RunConfig
from fedflm.data.load import BUILTINS, _builtin_path
from fedflm.errors import ConfigError
from fedflm.sweep.grid import check_grid, expand, file_grid, parse_grid, setting_config, settings


def test_knob_alternatives_expand_in_order() -> None:
    # Execute / Assert
    assert expand("fedprox:0.001|0.01") == ["fedprox:0.001", "fedprox:0.01"]
    assert expand("multikrum:1|2:5|6") == ["multikrum:1:5", "multikrum:1:6", "multikrum:2:5", "multikrum:2:6"]
    assert expand("fedavg") == ["fedavg"] and expand("0.3") == ["0.3"]


@given(st.lists(st.lists(st.sampled_from(["a", "b1", "0.5", "2"]), min_size=1, max_size=3), min_size=1, max_size=3))
def test_expansion_is_the_product_of_the_alternatives(parts: list[list[str]]) -> None:
    # Prepare
    value = ":".join("|".join(alts) for alts in parts)

    # Execute
    out = expand(value)

    # Assert
    n = 1
    for alts in parts:
        n *= len(alts)
    assert len(out) == n
    assert all(v.split(":")[i] in parts[i] for v in out for i in range(len(parts)))


def test_a_strategy_axis_sweeps_each_knob_on_the_validation_split(tmp_path: Path) -> None:
    # Prepare
    base = RunConfig.from_flat({"dataset": "banking77", "eval_fraction": 0.1})
    grid = parse_grid(["strategy=fedavg,fedprox:0.001|0.01,fedadam:0.01|0.1", "lr=0.1,0.3"])

    # Execute
    check_grid(base, grid)
    cfgs = [setting_config(base, s, str(tmp_path / f"s{i}")) for i, s in enumerate(settings(grid))]

    # Assert: 5 strategies x 2 lr, each evaluated on rows carved from the training file, never the test file
    assert grid["strategy"] == ["fedavg", "fedprox:0.001", "fedprox:0.01", "fedadam:0.01", "fedadam:0.1"]
    assert len(cfgs) == 10
    assert [c.agg.strategy for c in cfgs[::2]] == grid["strategy"]
    train = str(_builtin_path(BUILTINS["banking77"]["train"]))
    assert all(c.data.dataset == train and c.data.eval_file is None for c in cfgs)


@pytest.mark.parametrize(("item", "message"), [
    ("strategy=fedavg,fedprox:-1", r"strategy='fedprox:-1'.*MU > 0"),
    ("strategy=fedadam:0.1|0", r"strategy='fedadam:0'.*ETA > 0"),
    ("strategy=fedavgm:1.5", r"strategy='fedavgm:1.5'.*MOMENTUM < 1"),
    ("strategy=fedsgd", r"strategy='fedsgd'.*must be one of"),
    ("robust=trimmed:0.7", r"robust='trimmed:0.7'.*BETA < 0.5"),
])
def test_bad_knob_values_are_refused_naming_the_value(item: str, message: str) -> None:
    # Prepare
    grid = parse_grid([item])

    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        check_grid(RunConfig(), grid)


def test_a_value_the_base_forbids_is_named() -> None:
    # Prepare: a server optimizer cannot run under client-level DP
    base = RunConfig.from_flat({"dp": "client"})

    # Execute / Assert
    with pytest.raises(ConfigError, match=r"sweep strategy='fedadam:0.1'.*dp client"):
        check_grid(base, parse_grid(["strategy=fedavg,fedadam:0.1"]))


def test_a_forbidden_combination_of_two_axes_names_the_setting() -> None:
    # Prepare: each value is fine alone; fedadam with dp=client is not
    grid = parse_grid(["strategy=fedavg,fedadam:0.1", "dp=sample,client"])

    # Execute / Assert
    with pytest.raises(ConfigError, match=r"sweep setting \{'strategy': 'fedadam:0.1', 'dp': 'client'\}"):
        check_grid(RunConfig(), grid)


@pytest.mark.parametrize(("items", "message"), [
    (["attack=signflip,scale:10"], "evaluation setting"), (["attackers=0.1,0.2"], "evaluation setting"),
    (["strategy=fedprox:|0.1"], "empty alternative"), (["strategy=fedavg", "strategy=fedadam"], "given twice"),
])
def test_unsweepable_or_malformed_axes_are_refused(items: list[str], message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        parse_grid(items)


def test_the_config_file_holds_the_grid_and_metric_and_recipe_metadata_is_dropped() -> None:
    # Prepare
    tree = {"recipe": {"name": "r", "seeds": [0]}, "fed": {"rounds": 3},
            "sweep": {"metric": "macro_f1", "grid": {"strategy": ["fedavg", "fedprox:0.01|0.1"], "lr": [0.1, 0.3]}}}

    # Execute
    base, grid, metric = file_grid(tree, "s.toml")
    grid = parse_grid(["batch-size=32,64"], grid)

    # Assert
    assert base == {"fed": {"rounds": 3}} and metric == "macro_f1"
    assert grid == {"strategy": ["fedavg", "fedprox:0.01", "fedprox:0.1"], "lr": ["0.1", "0.3"],
                    "batch_size": ["32", "64"]}
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["lr=1"], grid)


@pytest.mark.parametrize(("sweep", "message"), [
    ({"grid": {"strategy": "fedavg"}}, r"s.toml: \[sweep.grid\] strategy must be a list"),
    ({"grids": {}}, r"s.toml: \[sweep\] may hold only"),
    ({"grid": {"attack": ["signflip"]}}, "evaluation setting"),
])
def test_a_bad_sweep_table_is_refused_naming_the_file(sweep: dict, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        file_grid({"sweep": sweep}, "s.toml")


def test_the_cli_refuses_a_bad_knob_before_running_anything(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    cfg = tmp_path / "s.toml"
    cfg.write_text('dataset = "banking77"\n[sweep.grid]\nstrategy = ["fedavg", "fedprox:0|0.01"]\n')

    # Execute
    rc = main(["sweep", str(cfg), "--out", str(tmp_path / "out")])
    file_err = capsys.readouterr().err.strip()
    rc_flag = main(["sweep", str(cfg), "--grid", "strategy=fedadam:0.1|0", "--out", str(tmp_path / "out")])

    # Assert: one error line naming the value; no setting ran
    flag_err = capsys.readouterr().err.strip()
    assert rc != 0 and "\n" not in file_err and "strategy='fedprox:0'" in file_err
    assert rc_flag != 0 and "strategy='fedadam:0'" in flag_err  # the --grid axis replaced the file's
    assert not (tmp_path / "out").exists()


def test_the_shipped_aggregation_sweep_is_valid() -> None:
    # Prepare
    from fedflm.cli.simulate import load_config_file
    path = Path(__file__).resolve().parents[2] / "simulations" / "sweeps" / "banking77-agg-dp-eps8.toml"

    # Execute
    flat, grid, metric = file_grid(load_config_file(path), str(path))
    base = RunConfig.from_flat(flat)
    check_grid(base, grid)

    # Assert
    assert metric == "accuracy" and base.data.eval_fraction == 0.1
    assert settings(grid) == [{"strategy": s} for s in
                              ("fedavg", "fedprox:0.01", "fedprox:0.1", "fedadam:0.01", "fedadam:0.1")]

"""Config validation, the flat form (CLI / TOML / Flower run_config) and its round trips."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import DataConfig, DPConfig, FedConfig, ModelConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.fl.rundir import config_to_toml


@pytest.mark.parametrize(("cls", "kwargs", "named"), [
    (DataConfig, {"eval_fraction": 1.5}, "eval_fraction must be in (0, 1), got 1.5"),
    (DataConfig, {"eval_samples": -3}, "got -3"),
    (DataConfig, {"samples_per_client": -1}, "samples_per_client must be >= 0"),
    (DataConfig, {"max_length": 4}, "max_length must be in [8, 4096], got 4"),
    (DataConfig, {"partition": "random"}, "got 'random'"),
    (DataConfig, {"partition": "dirichlet:0"}, "dirichlet alpha must be finite and > 0, got 0.0"),
    (DataConfig, {"partition": "dirichlet:1.2.3"}, "dirichlet alpha must be a number, got '1.2.3'"),
    (DataConfig, {"partition": "dirichlet:1e999"}, "got inf"),
    (DataConfig, {"partition": "pathological:0"}, "pathological K must be >= 1, got 0"),
    (DataConfig, {"dataset": ""}, "dataset must be"),
    (ModelConfig, {"lora_r": 0}, "lora_r must be positive, got 0"),
    (ModelConfig, {"lora_dropout": 1.0}, "lora_dropout must be in [0, 1), got 1.0"),
    (ModelConfig, {"device": "tpu"}, "got 'tpu'"),
    (TrainConfig, {"lr": 0.0}, "lr must be in (0, 1), got 0.0"),
    (TrainConfig, {"batch_size": 0}, "batch_size must be >= 1, got 0"),
    (TrainConfig, {"optimizer": "sgd"}, "got 'sgd'"),
    (FedConfig, {"clients": 0}, "clients must be >= 1, got 0"),
    (FedConfig, {"rounds": -2}, "rounds must be >= 1, got -2"),
    (FedConfig, {"fraction_train": 0.0}, "fraction_train must be in (0, 1], got 0.0"),
    (DPConfig, {"dp": "local"}, "got 'local'"),
    (DPConfig, {"delta": 2.0}, "delta must be in (0, 1), got 2.0"),
    (DPConfig, {"epsilon": -1.0}, "epsilon must be > 0, got -1.0"),
    (DPConfig, {"accountant": "gdp"}, "got 'gdp'"),
])
def test_validation_message_names_the_bad_value(cls: type, kwargs: dict, named: str) -> None:
    # Prepare / Execute
    with pytest.raises(ConfigError) as info:
        cls(**kwargs)

    # Assert
    assert named in str(info.value)


def test_valid_partition_specs_are_accepted() -> None:
    # Prepare
    specs = ["iid", "dirichlet:0.5", "dirichlet:1e-2", "pathological:3", "column:site_id"]

    # Execute
    configs = [DataConfig(partition=s) for s in specs]

    # Assert
    assert [c.partition for c in configs] == specs


def test_from_flat_accepts_dashed_keys_and_coerces_strings() -> None:
    # Prepare
    flat = {"samples-per-client": "64", "lora-r": 4, "local-epochs": "2", "lr": "0.005",
            "clients": "3", "target-modules": "query, value", "secure-mode": "true",
            "text_column": "sentence"}

    # Execute
    cfg = RunConfig.from_flat(flat)

    # Assert
    assert cfg.data.samples_per_client == 64 and cfg.data.text_column == "sentence"
    assert cfg.model.lora_r == 4 and cfg.model.target_modules == ("query", "value")
    assert cfg.train.local_epochs == 2 and cfg.train.lr == pytest.approx(0.005)
    assert cfg.fed.clients == 3 and cfg.privacy.secure_mode is True


def test_from_flat_overrides_a_base_and_keeps_the_rest() -> None:
    # Prepare
    base = RunConfig.from_flat({"dataset": "banking77", "rounds": 7})

    # Execute
    cfg = RunConfig.from_flat({"rounds": 2}, base=base)

    # Assert
    assert cfg.data.dataset == "banking77" and cfg.fed.rounds == 2


@pytest.mark.parametrize("flat", [{"num-rounds": 3}, {"clientz": 2}])
def test_unknown_key_is_an_error_naming_it(flat: dict) -> None:
    # Prepare
    (key,) = flat

    # Execute
    with pytest.raises(ConfigError) as info:
        RunConfig.from_flat(flat)

    # Assert
    assert f"unknown config key {key!r}" in str(info.value)


def test_unknown_key_inside_a_section_is_an_error() -> None:
    # Prepare
    tree = tomllib.loads("[fed]\nclients = 3\nwarp = 9\n")

    # Execute
    with pytest.raises(ConfigError) as info:
        RunConfig.from_flat(tree)

    # Assert
    assert "'warp'" in str(info.value) and "FedConfig" in str(info.value)


@pytest.mark.parametrize(("flat", "named"), [
    ({"clients": "three"}, "got 'three'"),
    ({"rounds": ""}, "got ''"),
    ({"lr": "fast"}, "got 'fast'"),
])
def test_uncoercible_value_is_an_error_naming_it(flat: dict, named: str) -> None:
    # Prepare / Execute
    with pytest.raises(ConfigError) as info:
        RunConfig.from_flat(flat)

    # Assert
    assert named in str(info.value)


def test_sectioned_toml_with_dashed_keys() -> None:
    # Prepare
    text = """
[data]
dataset = "banking77"
partition = "pathological:5"
samples-per-client = 100

[model]
lora_r = 16
target_modules = "query,key,value"

[fed]
clients = 5
rounds = 4

[privacy]
dp = "sample"
noise-multiplier = 1.1
epsilon = ""
"""

    # Execute
    cfg = RunConfig.from_flat(tomllib.loads(text))

    # Assert
    assert cfg.data == DataConfig(dataset="banking77", partition="pathological:5",
                                  samples_per_client=100)
    assert cfg.model.lora_r == 16 and cfg.model.target_modules == ("query", "key", "value")
    assert (cfg.fed.clients, cfg.fed.rounds) == (5, 4)
    assert cfg.privacy.dp == "sample" and cfg.privacy.noise_multiplier == pytest.approx(1.1)
    assert cfg.privacy.epsilon is None


_CONFIGS = st.builds(
    lambda ds, spec, r, tm, clients, seed, out, eps, nm: RunConfig.from_flat({
        "dataset": ds, "partition": spec, "lora_r": r, "target_modules": tm,
        "clients": clients, "seed": seed, "out": out, "epsilon": eps, "noise_multiplier": nm}),
    st.sampled_from(["sst2", "banking77", "data/site.csv"]),
    st.sampled_from(["iid", "dirichlet:0.3", "pathological:2", "column:site"]),
    st.integers(1, 64), st.sampled_from(["", "query,value", "q_proj"]),
    st.integers(1, 50), st.integers(0, 2**31 - 1), st.sampled_from(["", "runs/x"]),
    st.one_of(st.none(), st.floats(0.1, 50)), st.one_of(st.none(), st.floats(0.3, 5)),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(cfg=_CONFIGS)
def test_flower_run_config_round_trips(cfg: RunConfig) -> None:
    # Prepare: what the server sends to every client
    run_config = cfg.to_run_config()

    # Execute
    back = RunConfig.from_flat(run_config)

    # Assert: scalar values only, and the clients see exactly the server's config
    assert all(isinstance(v, (str, int, float, bool)) for v in run_config.values())
    assert all("_" not in k for k in run_config)
    assert back == cfg


@settings(max_examples=40, deadline=None, derandomize=True)
@given(cfg=_CONFIGS)
def test_resolved_config_toml_round_trips(cfg: RunConfig) -> None:
    # Prepare: RUN/config.toml as the run directory writes it
    text = config_to_toml(cfg)

    # Execute: reload it as `--config RUN/config.toml` would
    back = RunConfig.from_flat(tomllib.loads(text))

    # Assert
    assert back == cfg


def test_sampled_clients_is_the_fraction_but_at_least_min_clients() -> None:
    # Prepare / Execute / Assert
    assert FedConfig(clients=10, fraction_train=0.3, min_clients=2).sampled_clients() == 3
    assert FedConfig(clients=10, fraction_train=0.1, min_clients=2).sampled_clients() == 2
    assert FedConfig(clients=3, fraction_train=0.1, min_clients=5).sampled_clients() == 3


def test_round_seeds_differ_per_round_and_client_and_follow_the_seed() -> None:
    # Prepare
    fed = FedConfig(seed=7)

    # Execute
    seeds = {fed.round_seed(r, pid) for r in range(1, 11) for pid in range(50)}

    # Assert
    assert len(seeds) == 500 and fed.round_seed(1, 0) == 7 * 1000 + 97
    assert FedConfig(seed=8).round_seed(1, 0) != fed.round_seed(1, 0)


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_every_epsilon_cap_is_checked_by_one_rule(value: float, tmp_path) -> None:
    # Prepare
    from fedflm.privacy.state import OwnerPrivacy

    # Execute / Assert: the run config and an owner's state refuse it with the same words
    with pytest.raises(ConfigError, match=f"max_epsilon must be a finite number > 0, got {value!r}"):
        DPConfig(max_epsilon=value)
    with pytest.raises(ConfigError, match=f"epsilon_cap must be a finite number > 0, got {value!r}"):
        OwnerPrivacy(tmp_path, "owner-1", 1e-5, "rdp", value)


def test_init_from_turns_the_prototype_round_off_unless_asked_and_refuses_it_when_asked() -> None:
    # Prepare / Execute: a continued run without an explicit proto_fraction, and one with it
    continued = RunConfig.from_flat({"init_from": "runs/earlier"})

    # Assert: the prototype round would replace the continued head
    assert continued.train.proto_fraction == 0.0
    with pytest.raises(ConfigError, match="prototype round would replace the continued head"):
        RunConfig.from_flat({"init_from": "runs/earlier", "proto_fraction": 0.5})

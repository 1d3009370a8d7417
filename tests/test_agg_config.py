"""issue 21: the aggregation settings (AggConfig) and the combinations a run refuses."""

from __future__ import annotations

import pytest

from fedflm.config import AggConfig, RunConfig
from fedflm.config_rules import run_warnings
from fedflm.errors import ConfigError


@pytest.mark.parametrize(("flat", "message"), [
    ({"strategy": "fedsgd"}, "strategy must be one of fedavg .* got 'fedsgd'"),
    ({"strategy": "fedprox"}, "strategy must be one of .*fedprox:X.* got 'fedprox'"),
    ({"strategy": "fedprox:0"}, "fedprox:MU needs MU > 0, got 'fedprox:0'"),
    ({"strategy": "fedprox:abc"}, "strategy: the numbers after 'fedprox' must be numbers, got 'fedprox:abc'"),
    ({"strategy": "fedavgm:1.5"}, "fedavgm:MOMENTUM needs 0 <= MOMENTUM < 1, got 'fedavgm:1.5'"),
    ({"strategy": "fedadam:-1"}, "fedadam:ETA needs ETA > 0, got 'fedadam:-1'"),
    ({"robust": "trimmed:0.5"}, "trimmed:BETA needs 0 < BETA < 0.5, got 'trimmed:0.5'"),
    ({"robust": "krum:1.5"}, "krum needs whole numbers F >= 0 .* got 'krum:1.5'"),
    ({"robust": "norm:inf"}, "robust: numbers must be finite, got 'norm:inf'"),
    ({"attack": "signflip"}, "--attack and --attackers go together, got attack='signflip' attackers=0.0"),
    ({"attackers": 0.2}, "--attack and --attackers go together"),
    ({"attack": "noise:0", "attackers": 0.2}, "noise:S needs S > 0, got 'noise:0'"),
    ({"attack": "scale:10", "attackers": 1.0}, "attackers must be a fraction in \\[0, 1\\), got 1.0"),
    ({"lora_variant": "vera"}, "lora_variant must be standard or ffa, got 'vera'"),
])
def test_bad_values_are_named(flat: dict, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_flat(flat)


@pytest.mark.parametrize(("flat", "message"), [
    ({"lora_variant": "ffa", "train_mode": "head"}, "lora_variant ffa .* train_mode head trains no LoRA"),
    ({"strategy": "fedadam", "dp": "client"}, "strategy 'fedadam' with dp client: .* un-noised mean"),
    ({"robust": "median", "dp": "client"}, "robust 'median' with dp client"),
    ({"robust": "krum:4", "clients": 10}, "needs at least 2F\\+3 = 11 clients per round, got 10"),
    ({"robust": "multikrum:2:9", "clients": 10}, "M must be at most clients per round - F = 8"),
])
def test_incompatible_combinations_are_refused(flat: dict, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_flat(flat)


def test_good_values_round_trip_through_the_flat_form() -> None:
    # Prepare
    flat = {"strategy": "fedprox:0.01", "robust": "multikrum:2:5", "attack": "scale:10", "attackers": 0.2,
            "lora_variant": "ffa", "train_mode": "lora"}

    # Execute
    cfg = RunConfig.from_flat(flat)
    again = RunConfig.from_flat(cfg.to_run_config())

    # Assert
    assert again == cfg and cfg.agg.proximal_mu == 0.01 and AggConfig().proximal_mu == 0.0
    assert any("ATTACK SIMULATION" in w for w in run_warnings(cfg))


def test_the_run_directory_config_keeps_the_aggregation_settings() -> None:
    # Prepare
    import tomllib

    from fedflm.fl.rundir import config_to_toml
    cfg = RunConfig.from_flat({"strategy": "fedadam:0.05", "robust": "median", "attack": "signflip", "attackers": 0.2})

    # Execute
    again = RunConfig.from_flat(tomllib.loads(config_to_toml(cfg)))

    # Assert
    assert again.agg == cfg.agg

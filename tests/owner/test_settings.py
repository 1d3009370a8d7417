"""The owner's typed settings: policy file + flags, validation naming the value, one boolean parser."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedflm.cli.deploy import client_policy
from fedflm.errors import ConfigError
from fedflm.owner.policy import delta_bound
from fedflm.owner.settings import OwnerPolicy, OwnerSettings, load_policy, parse_bool


def _args(**over) -> argparse.Namespace:
    base = dict(policy=None, max_epsilon=None, delta=None, accountant=None, max_rounds=None,
                min_noise_multiplier=None, allow_dp=None, publish_ledger=None,
                share_leakage_count=None, require_secagg=None, accept_sampling_amplification=None)
    return argparse.Namespace(**{**base, **over})


def test_policy_file_then_flags(tmp_path):
    # Prepare
    path = tmp_path / "owner-policy.toml"
    path.write_text('max-epsilon = 4.0\ndelta = 1e-6\ndp-modes = ["sample"]\nmax-rounds = 5\n'
                    'models = ["minilm"]\npublish-ledger = "yes"\n')

    # Execute
    from_file = load_policy(path)
    with_flags = client_policy(_args(policy=path, max_epsilon=2.0, allow_dp=["client"]))

    # Assert
    assert from_file == OwnerPolicy(max_epsilon=4.0, delta=1e-6, max_rounds=5, models=("minilm",),
                                    publish_ledger=True)
    assert with_flags.max_epsilon == 2.0 and with_flags.dp_modes == ("sample", "client")
    assert with_flags.delta == 1e-6 and with_flags.max_rounds == 5


@pytest.mark.parametrize("text, match", [
    ("max-epsilon = -1.0", "max_epsilon must be a finite number > 0, got -1.0"),
    ('dp-modes = ["sample", "off"]', "dp_modes must be a non-empty subset"),
    ("delta = 1.5", "delta must be in \\(0, 1\\), got 1.5"),
    ('accountant = "gdp"', "accountant must be one of rdp, prv, got 'gdp'"),
    ("max-rounds = 0", "max_rounds must be an integer >= 1, got 0"),
    ("max-epsilom = 3.0", "unknown policy key 'max-epsilom'"),
    ('publish-ledger = "perhaps"', "must be true or false, got 'perhaps'"),
])
def test_bad_policy_values_are_named(tmp_path, text, match):
    path = tmp_path / "p.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=match):
        load_policy(path)


def test_missing_policy_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")


@given(st.sampled_from(["true", "TRUE", "Yes", "on", "1", True]))
def test_one_boolean_parser_true(value):
    assert parse_bool(value, "x") is True


@given(st.sampled_from(["false", "No", "OFF", "0", False]))
def test_one_boolean_parser_false(value):
    assert parse_bool(value, "x") is False


def test_delta_never_above_one_tenth_over_n():
    assert delta_bound(OwnerPolicy(delta=1e-3), 1000) == pytest.approx(1e-4)
    assert delta_bound(OwnerPolicy(delta=1e-6), 1000) == 1e-6


@given(st.floats(0.01, 100), st.integers(1, 50), st.booleans(), st.sampled_from(["rdp", "prv"]), st.booleans())
def test_node_config_round_trip(cap, rounds, publish, accountant, secagg):
    s = OwnerSettings(owner_id="o-1", state_dir="/tmp/state", secure_mode=False, seed=5,
                      policy=OwnerPolicy(max_epsilon=cap, max_rounds=rounds, publish_ledger=publish,
                                         accountant=accountant, dp_modes=("sample", "none"),
                                         require_secagg=secagg))
    flat = {k: v for k, v in s.to_node_config().items() if k != "policy"}  # as Flower flattens the table
    flat.update({f"policy.{k}": v for k, v in s.to_node_config()["policy"].items()})
    assert OwnerSettings.from_node_config(flat) == s


def test_client_start_without_a_cap_is_one_clear_error(tmp_path, capsys):
    # Prepare: a real store and key, so that the cap is the only thing missing
    from fedflm.cli.main import main
    from owner_support import make_store

    store, key = make_store(tmp_path, [("good film", 1), ("bad plot", 0)])

    # Execute
    code = main(["client", "start", "--server", "127.0.0.1:9092", "--store", str(store),
                 "--key-file", str(key), "--state-dir", str(tmp_path / "st"), "--insecure"])

    # Assert
    err = capsys.readouterr().err
    assert code != 0 and "epsilon cap is required" in err and "Traceback" not in err


@pytest.mark.parametrize("field, label, off, on", [
    ("share_leakage_count", "leakage check", "no count sent", "EXACT overlap count"),
    ("require_secagg", "secure aggregation", "as the run asks", "REQUIRED"),
    ("accept_sampling_amplification", "sampling claims", "not accepted", "amplified epsilon shown"),
])
def test_opt_in_switches_are_off_unless_the_owner_sets_them(tmp_path, field, label, off, on):
    # Prepare: the owner sets the key in its policy file (dashes), or gives the flag
    path = tmp_path / "owner-policy.toml"
    path.write_text(f'{field.replace("_", "-")} = "yes"\n')

    # Execute
    default, from_file, from_flag = OwnerPolicy(), load_policy(path), client_policy(_args(**{field: True}))

    # Assert
    assert getattr(default, field) is False and off in _line(default, label)
    assert getattr(from_file, field) is True and getattr(from_flag, field) is True
    assert on in _line(from_file, label)
    with pytest.raises(ConfigError, match=f"{field} must be true or false, got 'maybe'"):
        OwnerPolicy(**{field: "maybe"})


def _line(policy: OwnerPolicy, label: str) -> str:
    return next(line for line in policy.lines() if line.strip().startswith(label))

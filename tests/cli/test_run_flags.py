"""The RunConfig flags are the same in `fedflm simulate` and `fedflm server start`."""

from __future__ import annotations

import pytest

from fedflm.cli.main import build_parser
from fedflm.config import RunConfig

SERVER = ["server", "start", "--out", "r"]


@pytest.mark.parametrize("command", [["simulate"], SERVER], ids=["simulate", "server-start"])
def test_boolean_keys_are_bare_switches_or_take_a_value(command: list[str]) -> None:
    # Prepare
    parser = build_parser()

    # Execute
    bare = parser.parse_args([*command, "--prepare", "--secure-mode"])
    valued = parser.parse_args([*command, "--prepare", "false", "--secure-mode", "yes"])
    absent = parser.parse_args(command)

    # Assert
    assert (bare.prepare, bare.secure_mode) == (True, True)
    assert (valued.prepare, valued.secure_mode) == (False, True)
    assert (absent.prepare, absent.secure_mode) == (None, None)  # not given: the config file decides


def test_both_commands_offer_every_run_config_key() -> None:
    # Prepare
    parser = build_parser()
    flags = [f"--{k.replace('_', '-')}" for k in RunConfig.flat_keys()]

    # Execute
    sim = vars(parser.parse_args(["simulate", *[x for f in flags for x in (f, "1")]]))
    srv = vars(parser.parse_args([*SERVER[:2], *[x for f in flags for x in (f, "1")]]))

    # Assert: same keys parsed the same way (values are checked by RunConfig, not here)
    assert {k: sim[k] for k in RunConfig.flat_keys()} == {k: srv[k] for k in RunConfig.flat_keys()}

"""Tests for the `bench` subcommand registered by fedflm.cli.bench (no training here)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fedflm.cli.bench import register
from fedflm.errors import ConfigError


def test_bench_names_the_known_recipes_when_one_is_unknown(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "good-one.toml").write_text('[recipe]\nname = "good-one"\n')
    parser = argparse.ArgumentParser(prog="fedflm")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", "nope", "--recipes-dir", str(tmp_path)])

    # Execute / Assert
    with pytest.raises(ConfigError, match=r"recipe 'nope' not found .*good-one"):
        args.handler(args)

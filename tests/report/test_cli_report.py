"""Tests for the `report` subcommand registered by fedflm.cli.report."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fedflm.cli.report import register
from fedflm.errors import FedflmError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fedflm")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_report_command_writes_the_page(make_run, capsys) -> None:
    # Prepare
    run_dir = make_run(dp=True)
    args = _parse(["report", str(run_dir)])

    # Execute
    code = args.handler(args)

    # Assert
    assert code == 0
    assert (run_dir / "report.html").is_file()
    assert str(run_dir / "report.html") in capsys.readouterr().out


def test_report_command_on_missing_dir_raises_user_error(tmp_path: Path) -> None:
    # Prepare
    args = _parse(["report", str(tmp_path / "nope")])

    # Execute / Assert
    with pytest.raises(FedflmError, match="run directory not found"):
        args.handler(args)

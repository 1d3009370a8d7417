"""Path flags of `server start` / `client start`: made absolute against the user's
working directory before any process starts, missing files refused with one line
naming the flag."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fedflm.cli.deploy import server_config
from fedflm.cli.main import build_parser, main
from fedflm.deploy.certs import make_certs
from fedflm.deploy.paths import absolute_run_paths, resolve_client_args, resolve_server_args
from fedflm.errors import ConfigError


def _server_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["server", "start", *argv])


def _client_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["client", "start", "--server", "127.0.0.1:9092", *argv])


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/work/{pki, runs/fed2 (a resumable run), owner.store, owner.key}; cwd = tmp/work."""
    work = tmp_path / "work"
    make_certs(work / "pki", "127.0.0.1", ["node-0"])
    run = work / "runs" / "fed2"
    run.mkdir(parents=True)
    (run / "config.toml").write_text('[fed]\nrounds = 2\nout = "runs/fed2"\n')
    (run / "checkpoint.fedflm").write_bytes(b"x")
    (work / "owner.store").mkdir()
    (work / "owner.key").write_bytes(b"k")
    monkeypatch.chdir(work)
    return work


def test_server_paths_resolve_against_the_callers_directory(layout):
    # Prepare
    args = _server_args("--certs", "pki", "--authorized-keys", "pki/nodes", "--out", "runs/fed1",
                        "--checkpoint-key", "pki/checkpoint.key")

    # Execute
    resolve_server_args(args)
    cfg = absolute_run_paths(server_config(args))

    # Assert
    assert args.certs == layout / "pki" and args.checkpoint_key == layout / "pki" / "checkpoint.key"
    assert args.authorized_keys == [layout / "pki" / "nodes"]
    assert cfg.fed.out == str(layout / "runs" / "fed1")


def test_resume_with_a_relative_run_dir_finds_its_checkpoint(layout):
    # Prepare
    args = _server_args("--certs", "pki", "--authorized-keys", "pki/nodes", "--resume", "runs/fed2")

    # Execute
    resolve_server_args(args)
    cfg = absolute_run_paths(server_config(args))

    # Assert: the run dir is the resumed one, absolute, whatever its config.toml said
    assert cfg.fed.out == str(layout / "runs" / "fed2") and cfg.fed.rounds == 2


@pytest.mark.parametrize("argv, flag, path", [
    (("--certs", "pkx"), "--certs", "pkx"),
    (("--certs", "pki/ca.pem"), "--certs", "pki/ca.pem"),
    (("--authorized-keys", "pki/nodes/nobody.pub"), "--authorized-keys", "pki/nodes/nobody.pub"),
    (("--config", "recipe.toml"), "--config", "recipe.toml"),
    (("--resume", "runs/fed9"), "--resume", "runs/fed9"),
    (("--eval-file", "dev.csv"), "--eval-file", "dev.csv"),
])
def test_a_missing_server_path_is_one_line_naming_flag_and_path(layout, argv, flag, path):
    with pytest.raises(ConfigError) as err:
        resolve_server_args(_server_args(*argv))
    assert str(err.value).startswith(f"{flag} {path}: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("flag, value", [("--ca-cert", "pki/nope.pem"), ("--auth-key", "pki/nodes/x.key"),
                                         ("--store", "other.store"), ("--key-file", "other.key")])
def test_a_missing_client_path_exits_non_zero_with_one_line(layout, capsys, flag, value):
    # Prepare
    good = {"--ca-cert": "pki/ca.pem", "--auth-key": "pki/nodes/node-0.key", "--store": "owner.store",
            "--key-file": "owner.key"}
    good[flag] = value
    argv = ["client", "start", "--server", "127.0.0.1:9092", "--state-dir", "state",
            *[x for kv in good.items() for x in kv]]

    # Execute
    code = main(argv)

    # Assert
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith(f"fedflm: error: {flag} {value}: ") and "\n" not in err
    assert not (layout / "state").exists()  # nothing started, nothing written


def test_client_paths_resolve_against_the_callers_directory(layout):
    args = _client_args("--ca-cert", "pki/ca.pem", "--auth-key", "pki/nodes/node-0.key", "--store",
                        "owner.store", "--key-file", "owner.key", "--state-dir", "state")
    resolve_client_args(args)
    assert (args.ca_cert, args.auth_key) == (layout / "pki" / "ca.pem", layout / "pki" / "nodes" / "node-0.key")
    assert (args.store, args.key_file, args.state_dir) == (layout / "owner.store", layout / "owner.key",
                                                           layout / "state")

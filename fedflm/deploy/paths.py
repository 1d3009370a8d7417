"""Path arguments of ``fedflm server start`` / ``client start``, made absolute
and checked before any process starts.

Flower's processes run in other working directories (the SuperLink in
``RUN/superlink``, the SuperNode in the owner's state dir, the ServerApp in
Flower's app cache), so every path the user gave relative to *their* working
directory is resolved here, once, at the top of the CLI handler. A missing
file fails now with one line naming the flag and the path.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

from fedflm.config import RunConfig
from fedflm.errors import ConfigError

__all__ = ["absolute", "require_file", "require_dir", "resolve_server_args", "resolve_client_args",
           "absolute_run_paths", "absolute_task_paths"]


def absolute(path: Path | str | None) -> Path | None:
    """``path`` with ``~`` expanded, made absolute against the current directory and normalised
    (``..`` folded as the shell does; symlinks are kept)."""
    if path is None:
        return None
    return Path(os.path.abspath(Path(path).expanduser()))


def require_file(flag: str, path: Path | None) -> Path | None:
    """The absolute ``path``; a ConfigError naming ``flag`` when it is not a file."""
    return _require(flag, path, folder=False)


def require_dir(flag: str, path: Path | None) -> Path | None:
    """The absolute ``path``; a ConfigError naming ``flag`` when it is not a folder."""
    return _require(flag, path, folder=True)


def _require(flag: str, path: Path | None, folder: bool) -> Path | None:
    p = absolute(path)
    if p is None or (p.is_dir() if folder else p.is_file()):
        return p
    if p.exists():
        what = "is a file, not a folder" if folder else "is a folder, not a file"
    else:
        what = "no such folder" if folder else "no such file"
    raise ConfigError(f"{flag} {path}: {what} ({p})")


def require_file_or_dir(flag: str, path: Path | str) -> Path:
    """The absolute ``path``; a ConfigError naming ``flag`` when nothing is there."""
    p = absolute(path)
    assert p is not None
    if not p.exists():
        raise ConfigError(f"{flag} {path}: no such file or folder ({p})")
    return p


def resolve_server_args(args: argparse.Namespace) -> None:
    """Make ``fedflm server start``'s path flags absolute (in place) and check they exist."""
    args.config = require_file("--config", args.config)
    args.certs = require_dir("--certs", args.certs)
    args.checkpoint_key = require_file("--checkpoint-key", args.checkpoint_key)
    args.authorized_keys = [require_file_or_dir("--authorized-keys", p) for p in args.authorized_keys]
    args.resume = require_dir("--resume", args.resume)
    if getattr(args, "eval_file", None):
        args.eval_file = str(require_file("--eval-file", Path(args.eval_file)))
    if getattr(args, "out", None):
        args.out = str(absolute(args.out))
    if getattr(args, "privacy_state", None):
        args.privacy_state = str(absolute(args.privacy_state))


def resolve_client_args(args: argparse.Namespace) -> None:
    """Make ``fedflm client start``'s path flags absolute (in place) and check they exist."""
    args.store = require_dir("--store", args.store)
    args.key_file = require_file("--key-file", args.key_file)
    args.ca_cert = require_file("--ca-cert", args.ca_cert)
    args.auth_key = require_file("--auth-key", args.auth_key)
    if getattr(args, "policy", None) is not None:
        args.policy = require_file("--policy", args.policy)
    args.state_dir = absolute(args.state_dir)
    if args.state_dir.exists() and not args.state_dir.is_dir():
        raise ConfigError(f"--state-dir {args.state_dir}: is a file, not a folder")


def absolute_run_paths(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its file-system values absolute: the run dir, the earlier run (--init-from), the
    privacy state root, an evaluation file, a dataset or model given as a path (built-in names stay names)."""
    from fedflm.data.load import BUILTINS

    data, model, fed, privacy = cfg.data, cfg.model, cfg.fed, cfg.privacy
    if data.dataset not in BUILTINS:
        data = dataclasses.replace(data, dataset=str(require_file_or_dir("--dataset", data.dataset)))
    if data.eval_file:
        data = dataclasses.replace(data, eval_file=str(require_file_or_dir("--eval-file", data.eval_file)))
    if model.model != "minilm" and Path(model.model).expanduser().exists():  # else a hub id
        model = dataclasses.replace(model, model=str(absolute(model.model)))
    if fed.out:
        fed = dataclasses.replace(fed, out=str(absolute(fed.out)))
    if fed.init_from:
        fed = dataclasses.replace(fed, init_from=str(require_file_or_dir("--init-from", fed.init_from)))
    if privacy.privacy_state:
        privacy = dataclasses.replace(privacy, privacy_state=str(absolute(privacy.privacy_state)))
    return dataclasses.replace(cfg, data=data, model=model, fed=fed, privacy=privacy)


def absolute_task_paths(cfg: Any) -> Any:
    """issue 25: a ``--task causal-lm | recommend`` config (fedflm.task_config.FlatTaskConfig) with its file-system
    values absolute: the run dir, the server's held-out file, a data set or model given as a path (built-in and
    synthetic names stay names), the privacy state root."""
    def path_or_name(value: str) -> str:
        p = absolute(value)
        return str(p) if value and p is not None and p.exists() else value

    privacy = cfg.privacy
    if privacy.privacy_state:
        privacy = dataclasses.replace(privacy, privacy_state=str(absolute(privacy.privacy_state)))
    eval_file = str(require_file_or_dir("--eval-file", cfg.eval_file)) if cfg.eval_file else ""
    return dataclasses.replace(cfg, out=str(absolute(cfg.out)) if cfg.out else "", eval_file=eval_file,
                               dataset=path_or_name(cfg.dataset), model=path_or_name(cfg.model), privacy=privacy)

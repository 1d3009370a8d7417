"""The run directory: resolved config, per-round metrics, summary, final adapter.

A run directory carries an ``INCOMPLETE`` marker from creation until
:meth:`RunDir.complete`; a failed or interrupted run keeps it, so it is never
passed off as complete. JSON files are written atomically (``fedflm.io``: temp, fsync, rename).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import tomli_w

from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.io import write_json_atomic
from fedflm.jsonl import read_jsonl

MARKER = "INCOMPLETE"


def default_run_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _toml_scalar(v: Any) -> Any:
    """None as "" and sequences joined by commas: the forms ``RunConfig.from_flat`` reads back."""
    if v is None:
        return ""
    return ",".join(v) if isinstance(v, (tuple, list)) else v


def config_to_toml(cfg: RunConfig) -> str:
    """Sectioned TOML of the resolved config (``tomli_w``)."""
    sections = {sec: {k: _toml_scalar(v) for k, v in dataclasses.asdict(getattr(cfg, sec)).items()}
                for sec in ("data", "model", "train", "fed", "privacy", "agg")}
    return tomli_w.dumps(sections)


class RunDir:
    """Writer for one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, path: Path, cfg: RunConfig, config_toml: str | None = None) -> "RunDir":
        """Create (refusing a completed run's directory) and mark incomplete; ``config.toml`` holds
        ``config_toml`` when given (another task's own flat config), else ``cfg``'s sections."""
        path = Path(path)
        if (path / "summary.json").exists() and not (path / MARKER).exists():
            raise ConfigError(f"{path}: already holds a completed run; choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        (path / MARKER).write_text("run started; not finished\n")
        for name in ("metrics.jsonl", "client_metrics.jsonl"):
            (path / name).write_text("")
        (path / "config.toml").write_text(config_to_toml(cfg) if config_toml is None else config_toml)
        return rd

    def append(self, name: str, row: dict[str, Any]) -> None:
        with (self.path / name).open("a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")
            fh.flush()

    def write_json(self, name: str, obj: Any) -> None:
        write_json_atomic(self.path / name, obj)

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / "metrics.jsonl")

    def complete(self) -> None:
        (self.path / MARKER).unlink(missing_ok=True)

    def fail(self, reason: str) -> None:
        (self.path / MARKER).write_text(f"run failed: {reason}\n")

"""The run directory: resolved config, per-round metrics, summary, final adapter.

A run directory carries an ``INCOMPLETE`` marker from creation until
:meth:`RunDir.complete`; a failed or interrupted run keeps it, so it is never
passed off as complete. JSON files are written atomically (temp + rename).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from fedflm.config import RunConfig
from fedflm.data.jsonl import read_jsonl
from fedflm.errors import ConfigError

MARKER = "INCOMPLETE"


def default_run_dir() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def config_to_toml(cfg: RunConfig) -> str:
    """Sectioned TOML of the resolved config (None as "", which ``from_flat`` reads back)."""
    import dataclasses
    lines = []
    for sec in ("data", "model", "train", "fed", "privacy"):
        lines.append(f"[{sec}]")
        for k, v in dataclasses.asdict(getattr(cfg, sec)).items():
            if v is None:
                v = ""
            if isinstance(v, (tuple, list)):
                v = ",".join(v)
            lines.append(f"{k} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float))
    os.replace(tmp, path)


class RunDir:
    """Writer for one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, path: Path, cfg: RunConfig) -> "RunDir":
        """Create (refusing a completed run's directory) and mark incomplete."""
        path = Path(path)
        if (path / "summary.json").exists() and not (path / MARKER).exists():
            raise ConfigError(f"{path}: already holds a completed run; choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        (path / MARKER).write_text("run started; not finished\n")
        for name in ("metrics.jsonl", "client_metrics.jsonl"):
            (path / name).write_text("")
        (path / "config.toml").write_text(config_to_toml(cfg))
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

"""Read a run directory written by ``fedflm simulate`` into one typed value.

Only I/O and light normalisation live here; plotting and HTML rendering take a
:class:`RunData` and never touch the file system layout themselves. Optional
parts (client metrics, ledgers, clients.json, summary) may be absent: a run
that failed early still deserves a report that says so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedflm.errors import DataError
from fedflm.jsonl import read_json, read_jsonl

METRICS_FILE = "metrics.jsonl"
CLIENT_METRICS_FILE = "client_metrics.jsonl"
CLIENTS_FILE = "clients.json"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.toml"
LEDGER_DIR = "ledgers"
INCOMPLETE_MARKER = "INCOMPLETE"


@dataclass(frozen=True)
class RunData:
    """Everything a report needs from one run directory."""

    run_dir: Path
    config_text: str
    config: dict[str, Any]
    rounds: list[dict[str, Any]]
    client_rounds: list[dict[str, Any]] = field(default_factory=list)
    clients: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    ledgers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    incomplete_marker: bool = False

    @property
    def label_names(self) -> list[str]:
        """Label names from summary.json, else clients.json, else empty."""
        for source in (self.summary, self.clients):
            if source and source.get("label_names"):
                return [str(name) for name in source["label_names"]]
        return []

    @property
    def is_dp(self) -> bool:
        """True when any epsilon was recorded (server, client or ledger)."""
        if self.ledgers:
            return True
        if any(r.get("epsilon_max") is not None for r in self.rounds):
            return True
        return any(c.get("epsilon") is not None for c in self.client_rounds)

    @property
    def status(self) -> str:
        """The summary status, or "incomplete" when there is no summary."""
        if self.summary and self.summary.get("status"):
            return str(self.summary["status"])
        return "incomplete"


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    value = read_json(path)
    if not isinstance(value, dict):
        raise DataError(f"{path}: expected a JSON object")
    return value


def _read_config(run_dir: Path) -> tuple[str, dict[str, Any]]:
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return "", {}
    text = path.read_text(encoding="utf-8")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from None


def _read_ledgers(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    folder = run_dir / LEDGER_DIR
    if not folder.is_dir():
        return {}
    return {path.stem: read_jsonl(path) for path in sorted(folder.glob("*.jsonl"))}


def load_run(run_dir: Path) -> RunData:
    """Load ``run_dir``; it must be a directory holding at least metrics.jsonl."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run directory not found: {run_dir}")
    metrics_path = run_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise DataError(f"{run_dir}: no {METRICS_FILE}; is this a fedflm run directory?")
    config_text, config = _read_config(run_dir)
    client_path = run_dir / CLIENT_METRICS_FILE
    rounds = sorted(read_jsonl(metrics_path), key=lambda r: int(r.get("round", 0)))
    return RunData(
        run_dir=run_dir,
        config_text=config_text,
        config=config,
        rounds=rounds,
        client_rounds=read_jsonl(client_path) if client_path.is_file() else [],
        clients=_read_json(run_dir / CLIENTS_FILE),
        summary=_read_json(run_dir / SUMMARY_FILE),
        ledgers=_read_ledgers(run_dir),
        incomplete_marker=(run_dir / INCOMPLETE_MARKER).exists(),
    )

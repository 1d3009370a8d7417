"""The model card of an exported run: what it is, what it learnt from, and at what privacy cost.

Read from the run directory only (``config.toml``, ``summary.json``, ``clients.json``,
``ledgers/<owner>.jsonl``, ``adapter/fedflm_head.json``): ε/δ per owner are the last entries of
the owners' ledger copies, which are cumulative across rounds and runs (the ledger never resets).
Written twice: ``model_card.json`` (machine-readable) and ``README.md`` (people).
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from fedflm import __version__
from fedflm.jsonl import read_jsonl
from fedflm.errors import ExportError
from fedflm.io import write_atomic

CARD_JSON = "model_card.json"
CARD_MD = "README.md"


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's resolved config (sectioned TOML as :mod:`fedflm.fl.rundir` writes it)."""
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise ExportError(f"{path}: not found (not a fedflm run directory)")
    return tomllib.loads(path.read_text())


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ExportError(f"{path}: not found (not a finished fedflm run directory)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}: not valid JSON ({exc})") from None


def owner_privacy(run_dir: Path) -> dict[str, dict[str, Any]]:
    """ε, δ, rounds and runs per owner: the last entry of each ``ledgers/<owner>.jsonl`` copy."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((Path(run_dir) / "ledgers").glob("*.jsonl")):
        entries = read_jsonl(path)
        if not entries:
            continue
        last = entries[-1]
        out[path.stem] = {"epsilon": last.get("epsilon"), "delta": last.get("delta"),
                          "accountant": last.get("accountant"), "entries": len(entries),
                          "runs": sorted({str(e.get("run_id")) for e in entries})}
    return out


def git_commit() -> str | None:
    """The commit of the fedflm source in use (None outside a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def build_card(run_dir: Path) -> dict[str, Any]:
    """Everything the card says, as a dict (the JSON form)."""
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    summary = _read_json(run_dir / "summary.json")
    head = _read_json(run_dir / "adapter" / "fedflm_head.json")
    clients = _read_json(run_dir / "clients.json") if (run_dir / "clients.json").is_file() else {}
    data, fed, priv = cfg.get("data", {}), cfg.get("fed", {}), cfg.get("privacy", {})
    owners = owner_privacy(run_dir)
    n_owners = len(clients.get("clients", [])) or int(fed.get("clients", 0))
    prior = _read_json(run_dir / "init_from.json") if (run_dir / "init_from.json").is_file() else None
    return {
        "base_model": head.get("base_model") or cfg.get("model", {}).get("model"),
        "task": "sequence-classification",
        "labels": list(head.get("label_names", [])),
        "pooling": head.get("pooling"),
        "datasets": [d for d in (data.get("dataset"), data.get("eval_file")) if d],
        "max_length": int(data.get("max_length", 128)),
        "rounds": {"planned": summary.get("rounds"), "completed": summary.get("final", {}).get("round"),
                   "status": summary.get("status")},
        "owners": {"count": n_owners, "names": sorted(owners) or [f"client-{i}" for i in range(n_owners)]},
        "privacy": {"dp": priv.get("dp"), "target_epsilon": priv.get("epsilon") or None,
                    "delta": priv.get("delta"), "run_id": priv.get("run_id") or None,
                    "per_owner": owners},
        "deidentification": {"enabled": bool(data.get("prepare", False)), "engine": "learned",
                             "source": "config.toml data.prepare (simulated owners ran fedflm's "
                                       "prepare step)"},
        "evaluation": {k: v for k, v in summary.get("final", {}).items()
                       if k in ("accuracy", "macro_f1", "loss")},
        "continued_from": prior,
        "warnings": summary.get("warnings", []),
        "fedflm": {"version": __version__, "commit": git_commit()},
        "run_dir": str(run_dir.resolve()),
    }


def _fmt_eps(p: dict[str, Any]) -> str:
    eps = p.get("epsilon")
    return "n/a" if eps is None else f"{float(eps):.3f}"


def card_markdown(card: dict[str, Any], export: dict[str, Any]) -> str:
    """The README.md of an export: the card in prose and tables."""
    priv = card["privacy"]
    lines = [f"# fedflm model: {card['base_model']} fine-tuned for {card['task']}", "",
             f"- Labels ({len(card['labels'])}): {', '.join(card['labels'])}",
             f"- Data sets: {', '.join(card['datasets']) or 'n/a'}; max length {card['max_length']} tokens",
             f"- Rounds: {card['rounds']['completed']} of {card['rounds']['planned']} "
             f"({card['rounds']['status']}); owners: {card['owners']['count']}",
             f"- Differential privacy: {priv['dp']} (target ε {priv['target_epsilon']}, δ {priv['delta']})",
             f"- De-identification of training text: {'on' if card['deidentification']['enabled'] else 'off'}"
             + (" (fedflm predict applies the same to its inputs unless --no-deid)"
                if card['deidentification']['enabled'] else ""),
             f"- Final evaluation: {json.dumps(card['evaluation'])}",
             f"- fedflm {card['fedflm']['version']}, commit {card['fedflm']['commit'] or 'unknown'}", ""]
    if card.get("continued_from"):
        lines += [f"Continued from run {card['continued_from'].get('run_dir')}.", ""]
    if priv["per_owner"]:
        lines += ["## Privacy spent per data owner (cumulative, from the owners' ledgers)", "",
                  "| owner | ε | δ | ledger entries | runs |", "|---|---|---|---|---|"]
        lines += [f"| {o} | {_fmt_eps(p)} | {p.get('delta')} | {p.get('entries')} | {', '.join(p.get('runs', []))} |"
                  for o, p in priv["per_owner"].items()]
        lines.append("")
    lines += ["## This export", "", f"Format: **{export['format']}**.", "", export.get("how_to_load", ""), ""]
    for key in ("files", "parity", "int8"):
        if export.get(key):
            lines += [f"- {key}: `{json.dumps(export[key])}`"]
    if card["warnings"]:
        lines += ["", "## Warnings from the run", ""] + [f"- {w}" for w in card["warnings"]]
    return "\n".join(lines) + "\n"


def write_card(out_dir: Path, card: dict[str, Any], export: dict[str, Any]) -> None:
    """``model_card.json`` (card + export details) and ``README.md``."""
    write_atomic(Path(out_dir) / CARD_JSON, json.dumps({**card, "export": export}, indent=2, default=str))
    write_atomic(Path(out_dir) / CARD_MD, card_markdown(card, export))


def read_card(model_dir: Path) -> dict[str, Any] | None:
    """The card next to an exported model (None when there is none)."""
    path = Path(model_dir) / CARD_JSON
    return json.loads(path.read_text()) if path.is_file() else None

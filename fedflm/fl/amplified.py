"""The run's amplified-epsilon record under ``--amplify-by-sampling`` (issue 24).

After the run the server reads the owners' published ledger copies (``RUN/ledgers/``), and for each
owner computes the ex-ante epsilon with client sampling at the rate its own secret Poisson sampler
used, over every round the run held (:func:`fedflm.privacy.amplification.owner_amplified_epsilon`).
It writes ``RUN/amplification.json`` (one figure per owner, next to the unamplified one its ledger
holds) and returns the distribution for ``summary.json``. Nothing here changes a ledger: the owners'
ledgers, caps and refusals keep the unamplified epsilon; this is an additional, labelled number whose
threat model (``threat_model``) is written into both files.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from fedflm.io import write_json_atomic
from fedflm.options import AMPLIFICATION_THREAT_MODEL
from fedflm.privacy import ledger
from fedflm.privacy.amplification import owner_amplified_epsilon

__all__ = ["FILE", "amplification_record"]

FILE = "amplification.json"


def _owner_figures(path: Path, client_rate: float, rounds: dict[str, int]) -> dict[str, float] | None:
    entries = ledger.read(path)
    if not entries:
        return None
    delta = entries[-1]["delta"]
    return {"epsilon": float(entries[-1]["epsilon"]),
            "epsilon_amplified": owner_amplified_epsilon(entries, client_rate, rounds, delta)}


def _spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def amplification_record(run_dir: Path, run_id: str, client_rate: float, rounds_run: int) -> dict[str, Any]:
    """Write ``RUN/amplification.json``; return its summary (per-owner figures in the file only)."""
    owners: dict[str, dict[str, float]] = {}
    for path in sorted((run_dir / "ledgers").glob("*.jsonl")):
        figures = _owner_figures(path, client_rate, {run_id: rounds_run})
        if figures is not None:
            owners[path.stem] = figures
    out: dict[str, Any] = {"threat_model": AMPLIFICATION_THREAT_MODEL, "client_rate": client_rate,
                           "rounds_charged": rounds_run, "owners": len(owners),
                           "analysis": "ex-ante RDP mixture bound per round, every round charged "
                                       "(fedflm/privacy/amplification.py), Opacus RDP per step and conversion"}
    if owners:
        out["epsilon"] = _spread([f["epsilon"] for f in owners.values()])
        out["epsilon_amplified"] = _spread([f["epsilon_amplified"] for f in owners.values()])
    write_json_atomic(run_dir / FILE, {**out, "per_owner": owners})
    return out

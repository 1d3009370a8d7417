"""Write the ledger audit as report.json, report.md and epsilon_per_round.png."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from fedflm.audit.ledger.audit import LedgerAudit  # noqa: E402
from fedflm.audit.ledger.recompute import ACCOUNTANT_NAMES, SAME_KIND  # noqa: E402

PLOT_NAME = "epsilon_per_round.png"


def audit_to_json(audit: LedgerAudit) -> dict[str, Any]:
    """The whole audit as plain JSON-able data."""
    fails = [f for f in audit.findings if f.failed]
    return {
        "tool": "fedflm audit ledger",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "ok": audit.ok,
        "failures": len(fails),
        "warnings": len(audit.findings) - len(fails),
        "files": [str(f.path) for f in audit.files],
        "federation": audit.federation(),
        "owners": [o.summary() for o in audit.owners],
        "findings": [f.to_json() for f in audit.findings],
    }


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    if isinstance(x, list):
        return ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in x) or "–"
    return str(x)


def _owner_table(owners: Sequence[dict[str, Any]]) -> list[str]:
    head = ["owner", "rounds", "runs", "steps", "σ", "q", "δ", "accountant", "ε recorded",
            *[f"ε {n}" for n in ACCOUNTANT_NAMES], "cap", "remaining", "MAC"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in owners:
        row = [s["owner"], s["rounds"], s["runs"], s["steps"], _fmt(s["noise_multiplier"]),
               _fmt(s["sample_rate"]), _fmt(s["delta"]), s["accountant"], _fmt(s["epsilon_recorded"]),
               *[_fmt(s["epsilon"][n]) for n in ACCOUNTANT_NAMES], _fmt(s["epsilon_cap"]),
               _fmt(s["remaining"]), s["mac"]]
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return lines


def render_markdown(data: dict[str, Any]) -> str:
    """Human-readable report for an auditor."""
    fed = data["federation"]
    verdict = "PASS — every check passed" if data["ok"] else f"FAIL — {data['failures']} check(s) failed"
    out = [
        "# Privacy ledger audit", "",
        f"Generated {data['generated_at']} by `fedflm audit ledger`.", "",
        f"**Verdict: {verdict}** ({data['warnings']} warning(s)).", "",
        "Checks: hash chain, truncation, round order, canonical form, field ranges, MAC (when a key is given), "
        "and every recorded ε against an independent recomputation (Opacus RDP/PRV as the ledger names; "
        "Google dp-accounting RDP/PLD as a second library). A recorded ε fails when it differs from the "
        "independent value of the same accountant by more than 1 % or lies below it at all.", "",
        "## Federation", "",
        f"- owners: {fed['owners']}",
        f"- maximum recorded ε: {_fmt(fed['epsilon_recorded_max'])} (owner {fed['owner_of_max']})",
    ]
    out += [f"- maximum ε, {n}: {_fmt(v)}" for n, v in fed["epsilon_max"].items()]
    out += ["", "## Owners", "", *_owner_table(data["owners"]), ""]
    out += ["## Findings", ""]
    out += [f"- `{_finding_line(f)}`" for f in data["findings"]] or ["- none"]
    out += ["", f"Plot: `{PLOT_NAME}` (ε after each round, per owner).", "", "## Files", ""]
    out += [f"- `{f}`" for f in data["files"]]
    return "\n".join(out) + "\n"


def _finding_line(f: dict[str, Any]) -> str:
    where = f"{f['file']}:{f['line']}" if f["line"] is not None else f["file"]
    return f"{f['severity']} owner={f['owner']} {where}: {f['message']}"


def plot_epsilon(data: dict[str, Any], path: Path) -> Path:
    """ε after every entry: recorded (markers) and recomputed (line), per owner; caps dashed."""
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for i, s in enumerate(data["owners"]):
        color = f"C{i % 10}"
        rows = s["per_entry"]
        xs = list(range(1, len(rows) + 1))
        same = SAME_KIND.get(s["accountant"] or "", "opacus-rdp")
        ys = [r[same] for r in rows]
        ax.plot(xs, [r["recorded"] for r in rows], "o", color=color, ms=4, label=f"{s['owner']} recorded")
        if any(y is not None for y in ys):
            ax.plot(xs, [float("nan") if y is None else y for y in ys], "-", color=color, lw=1.2,
                    label=f"{s['owner']} {same}")
        if s["epsilon_cap"] is not None:
            ax.axhline(s["epsilon_cap"], color=color, ls="--", lw=0.8)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round (ledger entry, all runs)")
    ax.set_ylabel("cumulative ε")
    ax.set_title("Privacy spent per owner (dashed: cap)")
    ax.grid(alpha=0.3)
    if data["owners"]:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_ledger_report(audit: LedgerAudit, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, report.md and the ε plot into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = audit_to_json(audit)
    paths = {"json": out / "report.json", "markdown": out / "report.md", "plot": out / PLOT_NAME}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_markdown(data), encoding="utf-8")
    plot_epsilon(data, paths["plot"])
    return paths

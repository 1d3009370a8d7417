"""Derived facts a report must state loudly: the epsilon budget and warnings.

Warnings come from two places: the run's own ``summary.json["warnings"]`` and
what the run directory records: the resolved ``config.toml`` (de-identification
off), ``summary.json["transport"]`` (insecure transport) and the metrics (no
DP). A setting that weakens privacy must never be silent in a report. One utility check
rides along: a final model that predicts one class for nearly everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fedflm.report.rundir import RunData

NO_DP_WARNING = (
    "NO FORMAL PRIVACY: this run used no differential privacy; the shared adapter "
    "updates can leak information about individual training records."
)
INSECURE_TRANSPORT_WARNING = (
    "INSECURE TRANSPORT: the server ran with --insecure (no TLS, no SuperNode authentication); "
    "adapter updates and metrics crossed the network in the clear, from nodes nobody authenticated."
)


@dataclass(frozen=True)
class Budget:
    """The epsilon line drawn on the privacy plot and where it comes from."""

    epsilon: float
    source: str


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def find_budget(run: RunData) -> Budget | None:
    """The cap from the ledgers, else the owners' cap in the config, else the DP target epsilon."""
    for entries in run.ledgers.values():
        for entry in reversed(entries):
            if entry.get("epsilon_cap") is not None:
                return Budget(float(entry["epsilon_cap"]), "cap recorded in the privacy ledgers")
    privacy = run.config.get("privacy", {})
    privacy = privacy if isinstance(privacy, dict) else {}
    if _positive_number(privacy.get("max_epsilon")):
        return Budget(float(privacy["max_epsilon"]), "config privacy.max_epsilon")
    if run.is_dp and _positive_number(privacy.get("epsilon")):
        return Budget(float(privacy["epsilon"]), "target, config privacy.epsilon")
    return None


def epsilon_budget(run: RunData) -> float | None:
    """Just the epsilon of :func:`find_budget`, or None."""
    budget = find_budget(run)
    return None if budget is None else budget.epsilon


def deid_off_warning(config: dict[str, Any]) -> str | None:
    """A simulation on the user's own file without ``--prepare`` trained on text nobody de-identified.

    Reads the keys ``RunConfig`` writes (``[data] dataset`` and ``prepare``); the built-in public
    benchmarks hold no personal data, so they are not warned about.
    """
    from fedflm.data.load import BUILTINS

    data = config.get("data", {})
    if not isinstance(data, dict) or data.get("prepare", False) is not False:
        return None
    dataset = str(data.get("dataset", ""))
    if not dataset or dataset in BUILTINS:
        return None
    return (f"DE-IDENTIFICATION OFF: data.prepare = false: the clients trained on the raw text of "
            f"{dataset!r}, never de-identified; it may contain personal data (use --prepare)")


def _config_warnings(config: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """Privacy-weakening settings that the run directory records (config.toml, summary.json)."""
    found: list[str] = []
    if summary.get("transport") == "insecure":
        found.append(INSECURE_TRANSPORT_WARNING)
    deid = deid_off_warning(config)
    if deid:
        found.append(deid)
    return found


#: A class predicted for at least this share of the evaluation set ...
COLLAPSE_SHARE = 0.9
#: ... while its true share is at least this much lower is called a collapse.
COLLAPSE_EXCESS = 0.2


def collapse_warning(confusion: Any, label_names: list[str]) -> str | None:
    """Warn when the model predicts one class for almost every example (rows: true, columns: predicted)."""
    try:
        rows = [[float(v) for v in row] for row in confusion]
    except (TypeError, ValueError):
        return None
    total = sum(map(sum, rows))
    if total <= 0 or len(rows) < 2 or any(len(row) != len(rows) for row in rows):
        return None
    predicted = [sum(row[k] for row in rows) / total for k in range(len(rows))]
    top = max(range(len(rows)), key=predicted.__getitem__)
    true_share = sum(rows[top]) / total
    if predicted[top] < COLLAPSE_SHARE or predicted[top] - true_share < COLLAPSE_EXCESS:
        return None
    name = label_names[top] if top < len(label_names) else str(top)
    return (f"PREDICTIONS COLLAPSED: the final model predicts {name!r} for {predicted[top]:.0%} of the evaluation "
            f"set, whose true share is {true_share:.0%}; its accuracy is little better than always answering "
            f"{name!r}. Under DP this usually means too few rounds or too low a learning rate for the noise.")


def collect_warnings(run: RunData) -> list[str]:
    """All warnings, de-duplicated, most important first."""
    found: list[str] = []
    if not run.is_dp:
        found.append(NO_DP_WARNING)
    if run.status != "complete":
        found.append(f"RUN NOT COMPLETE: status is {run.status!r}; figures are partial.")
    elif run.incomplete_marker:
        found.append("RUN NOT COMPLETE: the INCOMPLETE marker is still present.")
    found.extend(_config_warnings(run.config, run.summary or {}))
    collapsed = collapse_warning((run.summary or {}).get("confusion_matrix"), run.label_names)
    if collapsed:
        found.append(collapsed)
    if run.summary:
        for warning in run.summary.get("warnings", []) or []:
            if not run.is_dp and "no differential privacy" in str(warning).lower():
                continue  # said above, in the report's own words
            found.append(str(warning))
    unique: list[str] = []
    for warning in found:
        if warning not in unique:
            unique.append(warning)
    return unique

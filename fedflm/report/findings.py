"""Derived facts a report must state loudly: the epsilon budget and warnings.

Warnings come from two places: the run's own ``summary.json["warnings"]`` and
what the resolved config and the recorded metrics show (no DP, de-identification
off, insecure transport or storage). A setting that weakens privacy must never
be silent in a report, so these checks err towards warning. One utility check
rides along: a final model that predicts one class for nearly everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fedflm.report.rundir import RunData

NO_DP_WARNING = (
    "NO FORMAL PRIVACY: this run used no differential privacy; the shared adapter "
    "updates can leak information about individual training records."
)
_CAP_KEYS = ("epsilon_cap", "max_epsilon", "target_epsilon", "epsilon_budget")
_OFF_VALUES = (False, "none", "off", "false", "no", "disabled")
_DEID_TAGS = ("deid", "de_identif")
_SWITCHES = ("enabled", "enable", "mode")


def _walk(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, value) for every leaf of a nested dict."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _walk(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, tree


def _leaf_name(dotted: str) -> str:
    return dotted.rsplit(".", 1)[-1].lower().replace("-", "_")


@dataclass(frozen=True)
class Budget:
    """The epsilon line drawn on the privacy plot and where it comes from."""

    epsilon: float
    source: str


def find_budget(run: RunData) -> Budget | None:
    """The cap from the ledgers, else a cap in the config, else the DP target epsilon."""
    for entries in run.ledgers.values():
        for entry in reversed(entries):
            if entry.get("epsilon_cap") is not None:
                return Budget(float(entry["epsilon_cap"]), "cap recorded in the privacy ledgers")
    for dotted, value in _walk(run.config):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if _leaf_name(dotted) in _CAP_KEYS and is_number and value > 0:
            return Budget(float(value), f"config {dotted}")
    privacy = run.config.get("privacy", {})
    target = privacy.get("epsilon") if isinstance(privacy, dict) else None
    if run.is_dp and isinstance(target, (int, float)) and not isinstance(target, bool) and target > 0:
        return Budget(float(target), "target, config privacy.epsilon")
    return None


def epsilon_budget(run: RunData) -> float | None:
    """Just the epsilon of :func:`find_budget`, or None."""
    budget = find_budget(run)
    return None if budget is None else budget.epsilon


def _is_deid_switch(dotted: str) -> bool:
    """``deid = ...``, ``deidentify = ...`` or ``[deid] enabled/mode = ...``."""
    parts = [p.lower().replace("-", "_") for p in dotted.split(".")]
    if any(tag in parts[-1] for tag in _DEID_TAGS):
        return True
    return len(parts) > 1 and any(tag in parts[-2] for tag in _DEID_TAGS) and parts[-1] in _SWITCHES


def _is_off(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _OFF_VALUES
    return value is False


def _config_warnings(config: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for dotted, value in _walk(config):
        name = _leaf_name(dotted)
        if name.startswith("insecure") and value is True:
            found.append(f"INSECURE SETTING: {dotted} = true (traffic or data not protected)")
        elif _is_deid_switch(dotted) and _is_off(value):
            found.append(
                f"DE-IDENTIFICATION OFF: {dotted} = {value!r}; raw text may contain personal data"
            )
        elif name in ("encrypt", "encryption", "encrypt_at_rest") and _is_off(value):
            found.append(f"ENCRYPTION AT REST OFF: {dotted} = {value!r}")
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
    found.extend(_config_warnings(run.config))
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

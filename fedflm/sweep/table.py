"""The sweep's result table: one row per setting, ranked by the validation metric."""

from __future__ import annotations

import math
from typing import Any


def sweep_row(setting: dict[str, str], metrics: list[dict[str, Any]], metric: str, run_dir: str,
              wall_s: float) -> dict[str, Any]:
    """A finished setting: its final validation metric, epsilon spent, where it ran."""
    final = metrics[-1] if metrics else {}
    return {"setting": setting, "metric": metric, "value": final.get(metric, float("nan")),
            "epsilon": final.get("epsilon_max"), "accuracy": final.get("accuracy"),
            "macro_f1": final.get("macro_f1"), "run_dir": run_dir, "wall_s": round(wall_s, 1)}


def failed_row(setting: dict[str, str], metric: str, error: str) -> dict[str, Any]:
    return {"setting": setting, "metric": metric, "value": float("nan"), "epsilon": None,
            "error": error[:300]}


def ranked(rows: list[dict[str, Any]], higher_is_better: bool = True) -> list[dict[str, Any]]:
    """Best first; failed settings (no value) last."""
    def key(row: dict[str, Any]) -> tuple[int, float]:
        v = row["value"]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return (1, 0.0)
        return (0, -v if higher_is_better else v)
    return sorted(rows, key=key)


def markdown(rows: list[dict[str, Any]], keys: list[str]) -> str:
    """The ranked table as Markdown (written next to sweep.json)."""
    metric = rows[0]["metric"] if rows else "metric"
    head = ["rank", *keys, f"validation {metric}", "epsilon", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in enumerate(rows, start=1):
        value = row["value"]
        shown = "failed" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
        eps = "—" if row.get("epsilon") is None else f"{row['epsilon']:.2f}"
        lines.append("| " + " | ".join([str(i), *(row["setting"][k] for k in keys), shown, eps,
                                         str(row.get("wall_s", "—"))]) + " |")
    return "\n".join(lines) + "\n"

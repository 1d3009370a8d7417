"""Model selection and early stopping on a server validation split (issue 22).

``--val-fraction F`` carves a stratified fraction F of the server's held-out set as a
validation split; the rest stays the test split that every metrics row reports. After each
round the server scores the global adapter on the validation split, keeps the adapter of
the best round on ``--select-metric`` (round 0, the initial model, included) and, with
``--patience P``, stops once P rounds in a row have not improved on it. The run directory's
adapter is then the best round's, and ``summary.json``'s ``final`` row holds that round's
**test** figures (``last`` holds the last round's).

Under DP the rounds not run are not trained: no client draws a batch, no ledger entry is
written, so the owners keep the budget the plan had reserved for them (the plan's epsilon
after round r is what an owner has spent when the run stops after round r).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from datasets import ClassLabel, Dataset

from fedflm.config import RunConfig
from fedflm.errors import DataError, FederationError

__all__ = ["EarlyStop", "Selector", "selection_text", "split_validation"]


class EarlyStop(FederationError):
    """The run ends early on purpose: the validation metric stopped improving."""


def split_validation(eval_ds: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
    """(test split, validation split) of the server's held-out set; no validation when ``fraction`` is 0."""
    if fraction <= 0:
        return eval_ds, None
    if not isinstance(eval_ds.features["label"], ClassLabel):  # stratifying needs one; the ids stay as they are
        eval_ds = eval_ds.cast_column("label", ClassLabel(num_classes=max(eval_ds["label"]) + 1))
    try:
        parts = eval_ds.train_test_split(test_size=fraction, seed=seed + 1, stratify_by_column="label")
    except ValueError as exc:
        raise DataError(f"cannot carve a stratified {fraction:.0%} validation split from the "
                        f"{len(eval_ds)}-row evaluation set: {exc}") from None
    return parts["train"], parts["test"]


@dataclass
class Selector:
    """Tracks the best round on one validation metric and says when patience runs out."""

    metric: str
    patience: int = 0  # 0: select the best round, never stop early
    best_round: int = -1
    best_value: float = math.nan
    best_state: Any = None
    since_best: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)

    def _better(self, value: float) -> bool:
        if math.isnan(self.best_value):
            return True
        return value < self.best_value if self.metric == "loss" else value > self.best_value

    def observe(self, server_round: int, value: float, state: Any) -> bool:
        """Record round ``server_round``'s validation ``value``; True when the run should stop now."""
        self.history.append((server_round, value))
        if not math.isnan(value) and self._better(value):
            self.best_round, self.best_value, self.since_best = server_round, value, 0
            self.best_state = copy.deepcopy(state)
            return False
        self.since_best += 1
        return self.patience > 0 and self.since_best >= self.patience

    def summary(self, rows: list[dict[str, Any]], rounds_planned: int, stopped_early: bool) -> dict[str, Any]:
        """What ``summary.json`` says about the selection (test figures of the best round in ``final``)."""
        ran = max((int(r.get("round", 0)) for r in rows), default=0)
        out = {"metric": f"val_{self.metric}", "best_round": self.best_round, "best_value": self.best_value,
               "patience": self.patience, "stopped_early": stopped_early, "rounds_run": ran,
               "rounds_planned": rounds_planned, "rounds_not_run": rounds_planned - ran}
        spent = [float(r["epsilon_max"]) for r in rows if r.get("epsilon_max") is not None]
        if spent:
            out["epsilon_spent_max"] = max(spent)
        return out


def selection_text(cfg: RunConfig) -> str | None:
    """One line for the printed plan (None when there is no validation split)."""
    if cfg.data.val_fraction <= 0:
        return None
    stop = (f"stop after {cfg.fed.patience} rounds without improvement" if cfg.fed.patience
            else "no early stopping")
    text = (f"model selection: best round on validation {cfg.fed.select_metric} ({cfg.data.val_fraction:.0%} "
            f"of the held-out set; the rest is the test set), {stop}")
    if cfg.fed.patience and cfg.privacy.dp != "none":
        text += ("; rounds not run are not trained and spend nothing: an owner's epsilon is the plan's "
                 "epsilon after the last round run")
    return text

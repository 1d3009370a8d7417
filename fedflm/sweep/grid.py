"""A sweep's settings: the grid's cartesian product over a base config, validated on training data.

Tuning on the set you report inflates the figure; tuning on private data spends privacy
too (every setting tried is another release: Papernot & Steinke 2022, "Hyperparameter
tuning with Renyi differential privacy"). A sweep therefore never loads a data set's
dev/test split: the server's evaluation set becomes a stratified ``eval_fraction`` carved
from the *training* file, and a user's ``eval_file`` is ignored.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from fedflm.config import RunConfig
from fedflm.data.load import BUILTINS, _builtin_path
from fedflm.errors import ConfigError


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.01,0.05", "clip=1"]`` -> ``{"lr": ["0.01", "0.05"], ...}`` (keys checked)."""
    keys = RunConfig.flat_keys()
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not values.strip():
            raise ConfigError(f"--grid {item!r}: expected KEY=V1,V2,...")
        if key not in keys:
            raise ConfigError(f"--grid {item!r}: unknown config key {key!r}")
        if key in ("dataset", "eval_file", "out", "privacy_state", "run_id"):
            raise ConfigError(f"--grid {item!r}: {key} cannot be swept")
        if key in grid:
            raise ConfigError(f"--grid: key {key!r} given twice")
        grid[key] = [v.strip() for v in values.split(",") if v.strip()]
    return grid


def settings(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, in a stable order."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def validation_config(cfg: RunConfig) -> RunConfig:
    """``cfg`` with its evaluation set carved from the training data (never the dev/test split)."""
    data = cfg.data
    if data.dataset in BUILTINS:
        spec = BUILTINS[data.dataset]
        data = replace(data, dataset=str(_builtin_path(spec["train"])), text_column=spec["text"],
                       label_column=spec["label"])
    return replace(cfg, data=replace(data, eval_file=None))


def setting_config(base: RunConfig, setting: dict[str, Any], out: str) -> RunConfig:
    """One setting's run config (validation split, its own run directory)."""
    cfg = RunConfig.from_flat({**setting, "out": out}, base=base)
    return validation_config(cfg)

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

UNSWEPT = ("dataset", "eval_file", "out", "privacy_state", "run_id")
EVALUATION_ONLY = ("attack", "attackers")  # a simulated attack is what a setting is judged under, not a choice


def parse_grid(items: list[str], grid: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """``["lr=0.01,0.05", "clip=1"]`` -> ``{"lr": ["0.01", "0.05"], ...}`` (keys checked), added to ``grid``."""
    grid = dict(grid or {})
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise ConfigError(f"--grid {item!r}: expected KEY=V1,V2,...")
        _add(grid, key, [v for v in values.split(",")], f"--grid {item!r}")
    return grid


def _add(grid: dict[str, list[str]], raw_key: str, values: list[Any], where: str) -> None:
    """Check one axis (key sweepable, not given twice) and add its values, ``|`` alternatives expanded."""
    key = raw_key.strip().replace("-", "_")
    if key not in RunConfig.flat_keys():
        raise ConfigError(f"{where}: unknown config key {key!r}")
    if key in UNSWEPT:
        raise ConfigError(f"{where}: {key} cannot be swept")
    if key in EVALUATION_ONLY:
        raise ConfigError(f"{where}: {key} is an evaluation setting (a simulated attack), not a "
                          "hyperparameter: set it in the base config")
    if key in grid:
        raise ConfigError(f"{where}: key {key!r} given twice")
    expanded = [v for value in values for v in expand(str(value).strip())]
    if not expanded:
        raise ConfigError(f"{where}: no values for {key!r}")
    grid[key] = expanded


def expand(value: str) -> list[str]:
    """Knob alternatives: ``"fedprox:0.001|0.01"`` -> ``["fedprox:0.001", "fedprox:0.01"]``.

    Each ``:``-separated part may list alternatives with ``|``; the result is their product in
    order (``"multikrum:1|2:6"`` -> ``multikrum:1:6``, ``multikrum:2:6``). Empty alternatives are refused.
    """
    if not value:
        return []
    parts = [part.split("|") for part in value.split(":")]
    if any(not alt.strip() for part in parts for alt in part):
        raise ConfigError(f"sweep value {value!r}: empty alternative around '|' or ':'")
    return [":".join(a.strip() for a in combo) for combo in itertools.product(*parts)]


def file_grid(tree: dict[str, Any], path: str) -> tuple[dict[str, Any], dict[str, list[str]], str | None]:
    """Split a sweep config file into (base settings, grid, metric).

    ``[sweep]`` may hold ``metric = "..."`` and a ``[sweep.grid]`` table of lists
    (``strategy = ["fedavg", "fedprox:0.001|0.01"]``); a ``[recipe]`` table (a recipe file used as
    the base) is metadata and is dropped. Everything else is the base config.
    """
    base = {k: v for k, v in tree.items() if k not in ("sweep", "recipe")}
    sweep = tree.get("sweep", {})
    if not isinstance(sweep, dict) or set(sweep) - {"grid", "metric"}:
        raise ConfigError(f"{path}: [sweep] may hold only 'metric' and a [sweep.grid] table, got {sweep!r}")
    raw = sweep.get("grid", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [sweep.grid] must be a table of KEY = [V1, V2, ...], got {raw!r}")
    grid: dict[str, list[str]] = {}
    for key, values in raw.items():
        if not isinstance(values, list):
            raise ConfigError(f"{path}: [sweep.grid] {key} must be a list of values, got {values!r}")
        _add(grid, key, values, f"{path}: [sweep.grid] {key}")
    metric = sweep.get("metric")
    return base, grid, None if metric is None else str(metric)


def check_grid(base: RunConfig, grid: dict[str, list[str]]) -> None:
    """Every value, then every setting, is a valid config; the error names the value or setting."""
    for key, values in grid.items():
        for value in values:
            try:
                RunConfig.from_flat({key: value}, base=base)
            except ConfigError as exc:
                raise ConfigError(f"sweep {key}={value!r}: {exc}") from None
    for setting in settings(grid):
        try:
            RunConfig.from_flat(setting, base=base)
        except ConfigError as exc:
            raise ConfigError(f"sweep setting {setting}: {exc}") from None


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

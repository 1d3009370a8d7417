"""Result rows: one JSON file per (recipe, seed) run, the raw material of RESULTS.md.

A row is only trustworthy with the exact config it ran and the commit of the
code that ran it, so :func:`validate_row` refuses rows lacking either. Rows are
written by ``simulations/run.py`` (never by hand) and aggregated here into
mean ± standard deviation over seeds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedflm.errors import DataError
from fedflm.jsonl import read_json

SCHEMA_VERSION = 1
#: held-out users' ranking figures of a recommendation row (after training; ``auc_before`` before round 1;
#: ``popularity_*``: the popularity baseline on the same users)
RANKING_KEYS = ("auc_before", "auc", "hit_rate_at_10", "ndcg_at_10", "popularity_auc", "popularity_hit_rate_at_10",
                "popularity_ndcg_at_10")
METRIC_KEYS = ("accuracy", "macro_f1", "wall_time_s", "bytes_sent", "epsilon", "perplexity_before",
               "perplexity_after", *RANKING_KEYS)
#: A causal-LM row's config is one table of this name holding the flat ``--task causal-lm`` settings
#: (fedflm.causal.config.CausalRunConfig); a classification row's is the sectioned run config.
CAUSAL = "causal-lm"
#: A recommendation row's config is one table of this name (fedflm.recommend.config.RecommendRunConfig).
RECOMMEND = "recommend"
#: the tasks whose config is one flat table named after the task
FLAT_TASKS = (CAUSAL, RECOMMEND)
_REQUIRED_METRICS = {"classify": ("accuracy", "macro_f1"), CAUSAL: ("perplexity_before", "perplexity_after"),
                     RECOMMEND: ("auc", "hit_rate_at_10", "ndcg_at_10")}
COMMIT_RE = re.compile(r"^[0-9a-f]{7,40}$")  #: a git commit id as rows and benchmark records carry it


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation of one metric over ``n`` seeds."""

    mean: float
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat | None:
        if not values:
            return None
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(mean=statistics.fmean(values), std=std, n=len(values))


@dataclass(frozen=True)
class RecipeSummary:
    """All rows of one recipe, aggregated."""

    recipe: str
    dataset: str
    description: str
    model: str
    seeds: list[int]
    metrics: dict[str, Stat | None]
    commits: list[str]
    machines: list[str]


def git_commit(repo: Path) -> tuple[str, bool]:
    """(HEAD commit, working tree has uncommitted changes to tracked files)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DataError(f"cannot read the git commit of {repo}: {exc}") from None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What the run ran on: CPU model and cores, GPU name when one was used."""
    import torch  # local import: results aggregation must not need torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "gpu": gpu,
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "system": platform.system(),
            "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


def machine_label(machine: dict[str, Any]) -> str:
    """One short line: the GPU if any, else the CPU and its core count."""
    if machine.get("gpu"):
        return f"GPU {machine['gpu']}"
    threads = machine.get("torch_threads")
    suffix = f", {threads} thread(s)" if threads else ""
    return f"CPU {machine.get('cpu', '?')} ({machine.get('cores', '?')} cores{suffix})"


#: What a row ran when its config predates a key: rows without ``train.train_mode`` ran the model
#: before issue 15 (LoRA + a random head on BERT's CLS pooler), whatever today's defaults say.
LEGACY_VALUES = {"train.train_mode": "lora", "model.pooling": "cls-pooler"}
#: Keys added later whose "before" value differs from today's default: a row without them ran so.
BIRTH_VALUES = {"train.proto_fraction": 0.0}  # rows before DP prototypes trained no prototype head


def row_task(config: dict[str, Any]) -> str:
    """``causal-lm`` / ``recommend`` for a config holding that task's table, else ``classify``."""
    return next((task for task in FLAT_TASKS if isinstance(config.get(task), dict)), "classify")


def is_legacy(config: dict[str, Any]) -> bool:
    """True for a row that ran before training modes existed (LoRA on the CLS pooler)."""
    if row_task(config) in FLAT_TASKS:
        return False  # causal-LM and recommendation rows came after training modes
    train = config.get("train")
    return not isinstance(train, dict) or "train_mode" not in train


def model_label(config: dict[str, Any]) -> str:
    """The model a row trained, from its resolved config (``minilm`` spelled out)."""
    if row_task(config) == CAUSAL:
        causal = config[CAUSAL]
        name = str(causal.get("model", "smollm2"))
        name = "SmolLM2-135M-Instruct" if name == "smollm2" else name
        return f"{name} + LoRA r={causal.get('lora_r', '?')}, causal LM (loss on the response tokens)"
    if row_task(config) == RECOMMEND:
        rec = config[RECOMMEND]
        name = str(rec.get("model", "minilm"))
        name = "all-MiniLM-L6-v2 (22.7 M)" if name == "minilm" else name
        return (f"{name}, frozen bi-encoder ({rec.get('pooling', 'auto')} pooling) + two towers "
                f"(embed {rec.get('embed_dim', '?')}, {rec.get('tower_init', 'random')} init)")
    model = config.get("model", {}) if isinstance(config.get("model"), dict) else {}
    train = config.get("train", {}) if isinstance(config.get("train"), dict) else {}
    name = str(model.get("model", "?"))
    name = "all-MiniLM-L6-v2 (22.7 M)" if name == "minilm" else name
    lora = f" + LoRA r={model['lora_r']}" if "lora_r" in model else " + LoRA"
    if is_legacy(config):
        return f"{name}{lora}, random head on the CLS pooler (before issue 15)"
    proto = ", DP-prototype init" if float(train.get("proto_fraction") or 0) > 0 else ""
    proto += " + class-name prior" if proto and float(train.get("name_prior") or 0) > 0 else ""
    mode = train["train_mode"]
    if mode == "head":
        return f"{name}, linear head only (frozen encoder, {model.get('pooling', 'auto')} pooling){proto}"
    return f"{name}{lora}" + (f", lp-ft{proto}" if mode == "lp-ft" else "")


def make_row(*, recipe: str, dataset: str, description: str, seed: int, config: dict[str, Any],
             metrics: dict[str, Any], commit: str, dirty: bool, machine: dict[str, Any],
             run_dir: str) -> dict[str, Any]:
    """Build (and validate) a result row."""
    row = {"schema": SCHEMA_VERSION, "recipe": recipe, "dataset": dataset, "description": description,
           "seed": seed, "commit": commit, "dirty": dirty, "machine": machine, "config": config,
           "metrics": {k: metrics.get(k) for k in METRIC_KEYS}, "run_dir": run_dir,
           "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    validate_row(row, source="new row")
    return row


def validate_row(row: Any, *, source: str) -> None:
    """Refuse a row without its config or commit, or with malformed metrics."""
    if not isinstance(row, dict):
        raise DataError(f"{source}: a result row must be a JSON object")
    if not isinstance(row.get("config"), dict) or not row["config"]:
        raise DataError(f"{source}: row has no config; rows must carry the exact config they ran")
    commit = row.get("commit")
    if not isinstance(commit, str) or not COMMIT_RE.match(commit):
        raise DataError(f"{source}: row has no valid commit (got {commit!r}); rows must name the code that ran")
    for key in ("recipe", "dataset"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise DataError(f"{source}: row has no {key}")
    if not isinstance(row.get("seed"), int):
        raise DataError(f"{source}: seed must be an integer, got {row.get('seed')!r}")
    if not isinstance(row.get("machine"), dict):
        raise DataError(f"{source}: row has no machine description")
    metrics = row.get("metrics")
    if not isinstance(metrics, dict):
        raise DataError(f"{source}: row has no metrics")
    for key in _REQUIRED_METRICS[row_task(row["config"])]:
        if not isinstance(metrics.get(key), (int, float)):
            raise DataError(f"{source}: metric {key} missing or not a number (got {metrics.get(key)!r})")


def write_row(row: dict[str, Any], results_dir: Path) -> Path:
    """Write ``results_dir/<recipe>__seed<seed>__<commit7>.json`` and return it."""
    validate_row(row, source="new row")
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{row['recipe']}__seed{row['seed']}__{row['commit'][:7]}.json"
    path.write_text(json.dumps(row, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


#: Config keys that differ between the seeds of one recipe by design (section.name for classification,
#: causal-lm.name for the causal task).
_PER_RUN_KEYS = frozenset({"fed.seed", "fed.out", "privacy.privacy_state", "privacy.run_id"}
                          | {f"{task}.{key}" for task in FLAT_TASKS for key in ("seed", "out", "privacy_state",
                                                                                  "run_id")})


def _flat_config(config: dict[str, Any]) -> dict[str, Any]:
    return {f"{section}.{key}": value for section, fields in config.items() if isinstance(fields, dict)
            for key, value in fields.items()}


def _none_empty(value: Any) -> Any:
    return "" if value is None else value  # run configs spell "unset" as ""


def _first_difference(ref: dict[str, Any], other: dict[str, Any],
                      ref_is_recipe: bool = False) -> tuple[str, Any, Any] | None:
    """The first config key (sorted) where two sectioned configs differ, as (key, ref value, other value).

    Per-run keys (seed, run directory, privacy state, run id) are ignored; a key
    one side lacks (added to fedflm later, or left at its default in a recipe)
    counts as its default.
    """
    if row_task(ref) != row_task(other):
        return "task", row_task(ref), row_task(other)
    defaults = _task_defaults(row_task(ref))
    a_flat, b_flat = _flat_config(ref), _flat_config(other)

    def value(config: dict[str, Any], flat: dict[str, Any], key: str) -> Any:
        default = defaults.get(key.split(".", 1)[-1])
        if not (ref_is_recipe and config is ref):  # a recipe runs today's defaults; a row ran its era's
            default = BIRTH_VALUES.get(key, default)
            if is_legacy(config):
                default = LEGACY_VALUES.get(key, default)
        return _none_empty(flat.get(key, default))

    era_keys = set(LEGACY_VALUES) | set(BIRTH_VALUES) if row_task(ref) == "classify" else set()
    keys = (set(a_flat) | set(b_flat) | era_keys) - _PER_RUN_KEYS
    if ref_is_recipe and is_legacy(other):  # the row predates these keys: labelled as the old model instead
        keys -= set(LEGACY_VALUES) | set(BIRTH_VALUES)
    for key in sorted(keys):
        a, b = value(ref, a_flat, key), value(other, b_flat, key)
        if a != b:
            return key, a, b
    return None


def _task_defaults(task: str) -> dict[str, Any]:
    """Today's default of every flat key of ``task``'s config."""
    if task == CAUSAL:
        from fedflm.causal.config import CausalRunConfig
        return CausalRunConfig().to_flat()
    if task == RECOMMEND:
        from fedflm.recommend.config import RecommendRunConfig
        return RecommendRunConfig().to_flat()
    from fedflm.config import RunConfig
    return RunConfig().to_flat()


def check_same_config(rows: list[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse rows of one recipe that ran different configs (a recipe edited after some seeds ran)."""
    first: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path, row in rows:
        ref_path, ref = first.setdefault(row["recipe"], (path, row["config"]))
        diff = _first_difference(ref, row["config"])
        if diff is not None:
            key, a, b = diff
            raise DataError(f"{path}: recipe {row['recipe']!r} ran with {key} = {b!r}, but "
                            f"{ref_path.name} ran it with {a!r}; one recipe name must mean one config "
                            "(rerun the stale seeds or give the new config its own recipe name)")


def check_matches_recipes(rows: list[tuple[Path, dict[str, Any]]], recipes: dict[str, Any]) -> None:
    """Refuse a row whose recipe file now says something else than the config the row ran.

    ``recipes`` maps a recipe name to its :class:`~fedflm.bench.recipes.Recipe`;
    rows of recipes not in it are left alone (the row carries its own config). A row from before
    issue 15 (:func:`is_legacy`) is checked on every key but the training mode and pooling, which
    its recipe may since have changed: RESULTS.md labels it as the old model (:func:`model_label`).
    """
    for path, row in rows:
        recipe = recipes.get(row["recipe"])
        diff = None if recipe is None else _first_difference(recipe.config, row["config"], ref_is_recipe=True)
        if diff is not None:
            key, now, ran = diff
            raise DataError(f"{path}: ran {key} = {ran!r}, but {recipe.path} now says {now!r}; "
                            "rerun the recipe, or delete the stale row (git keeps it)")


def load_rows(results_dir: Path, recipes: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every row in ``results_dir/*.json``, validated; the first bad row stops everything.

    With ``recipes`` (name -> Recipe), each row must also match its recipe file.
    """
    loaded = []
    for path in sorted(Path(results_dir).glob("*.json")):
        row = read_json(path)
        validate_row(row, source=str(path))
        loaded.append((path, row))
    check_same_config(loaded)
    check_matches_recipes(loaded, recipes or {})
    return [row for _, row in loaded]


def _commit_label(row: dict[str, Any]) -> str:
    return row["commit"][:10] + ("+dirty" if row.get("dirty") else "")


def summarise(rows: list[dict[str, Any]]) -> list[RecipeSummary]:
    """Group rows by recipe (sorted by dataset, then recipe) and aggregate each metric."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["recipe"], []).append(row)
    summaries = []
    for recipe, group in groups.items():
        metrics = {}
        for key in METRIC_KEYS:
            values = [float(r["metrics"][key]) for r in group if r["metrics"].get(key) is not None]
            metrics[key] = Stat.of(values)
        summaries.append(RecipeSummary(
            recipe=recipe, dataset=group[0]["dataset"], description=str(group[0].get("description", "")),
            model=model_label(group[0]["config"]),
            seeds=sorted(int(r["seed"]) for r in group), metrics=metrics,
            commits=sorted({_commit_label(r) for r in group}),
            machines=sorted({machine_label(r["machine"]) for r in group})))
    return sorted(summaries, key=lambda s: (s.dataset, s.recipe))

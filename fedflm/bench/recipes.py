"""Recipes: named, versioned run configs whose results become rows of RESULTS.md.

A recipe is a TOML file: a ``[recipe]`` table (``name``, ``description``,
``seeds``) and the usual sectioned run config (``[data]``, ``[model]``,
``[train]``, ``[fed]``, ``[privacy]``), exactly the keys of ``fedflm simulate
--config``. A causal-LM recipe says ``task = "causal-lm"`` in ``[recipe]`` and holds
the flat ``fedflm simulate --task causal-lm`` settings in one ``[causal-lm]`` table; a
recommendation recipe says ``task = "recommend"`` and holds the ``--task recommend`` settings in
one ``[recommend]`` table.
:func:`run_recipe` runs one seed of it in Flower's Simulation Engine, writes the
run report, and returns the result row (config, commit, machine, metrics) that
:func:`fedflm.report.results.write_row` stores.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedflm.errors import ConfigError, DataError
from fedflm.fl.resources import SimResources
from fedflm.report.results import CAUSAL, FLAT_TASKS, RECOMMEND, git_commit, machine_info, make_row
from fedflm.report.rundir import load_run

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
TASKS = ("classify", *FLAT_TASKS)
_PER_RUN = ("seed", "out")  # the runner sets them


@dataclass(frozen=True)
class Recipe:
    """One recipe file, parsed; ``config`` holds the run-config sections."""

    name: str
    description: str
    seeds: tuple[int, ...]
    config: dict[str, Any]
    path: Path
    task: str = "classify"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"{self.path}: recipe task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if not self.name or not set(self.name) <= _NAME_CHARS:
            raise ConfigError(f"{self.path}: recipe name must be lowercase [a-z0-9-_.], got {self.name!r}")
        if not self.seeds or any(not isinstance(s, int) or isinstance(s, bool) for s in self.seeds):
            raise ConfigError(f"{self.path}: recipe seeds must be a non-empty list of integers, got {self.seeds!r}")
        table = self.task if self.task in FLAT_TASKS else "fed"
        if any(key in self.config.get(table, {}) for key in _PER_RUN):
            raise ConfigError(f"{self.path}: set seeds in [recipe], not {table}.seed/{table}.out (the runner sets them)")
        if self.task in FLAT_TASKS and set(self.config) != {self.task}:
            raise ConfigError(f"{self.path}: a {self.task} recipe holds its settings in one [{self.task}] table, "
                              f"got tables {sorted(self.config)}")

    @property
    def dataset(self) -> str:
        """The results table's data set: ``sst2``, ``banking77``, ... or ``causal-lm/synthetic``,
        ``recommend/synthetic`` (any size), ``recommend/<log file stem>``."""
        if self.task in FLAT_TASKS:
            data = str(self.config[self.task].get("dataset", flat_config_type(self.task).dataset))
            return f"{self.task}/{Path(data.partition(':')[0]).stem}"
        return str(self.config.get("data", {}).get("dataset", "sst2"))


def flat_config_type(task: str) -> Any:
    """The flat run config of a non-classification task (``FLAT_TASKS``)."""
    if task == CAUSAL:
        from fedflm.causal.config import CausalRunConfig

        return CausalRunConfig
    from fedflm.recommend.config import RecommendRunConfig

    return RecommendRunConfig


def resolve_recipe_path(name_or_path: str, recipes_dir: Path) -> Path:
    """A recipe file given as a path, or as a name inside ``recipes_dir``."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    named = recipes_dir / f"{name_or_path.removesuffix('.toml')}.toml"
    if named.is_file():
        return named
    known = ", ".join(sorted(p.stem for p in recipes_dir.glob("*.toml"))) or "none"
    raise ConfigError(f"recipe {name_or_path!r} not found (known in {recipes_dir}: {known})")


def load_recipe(path: Path) -> Recipe:
    """Parse and validate a recipe file, including its run config."""
    from fedflm.config import RunConfig

    try:
        tree = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read recipe: {exc}") from None
    meta = tree.pop("recipe", None)
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: no [recipe] table (name, description, seeds)")
    for task in FLAT_TASKS:
        if isinstance(tree.get(task), dict):  # flat keys may be dashed, as on the command line
            tree[task] = {key.replace("-", "_"): value for key, value in tree[task].items()}
    recipe = Recipe(name=str(meta.get("name", Path(path).stem)), description=str(meta.get("description", "")),
                    seeds=tuple(meta.get("seeds", [0])), config=tree, path=Path(path),
                    task=str(meta.get("task", "classify")))
    run_config(recipe, recipe.seeds[0], Path("out"))  # validates every key and value now, not after a long run
    return recipe


def run_config(recipe: Recipe, seed: int, out: Path) -> Any:
    """The run config of one seed of ``recipe`` (a RunConfig, CausalRunConfig or RecommendRunConfig),
    writing to ``out``."""
    if recipe.task in FLAT_TASKS:
        return flat_config_type(recipe.task).from_flat(recipe.config[recipe.task] | {"seed": seed, "out": str(out)})
    from fedflm.config import RunConfig

    cfg = RunConfig.from_flat(recipe.config)
    return dataclasses.replace(cfg, fed=dataclasses.replace(cfg.fed, seed=seed, out=str(out)))


def run_metrics(run_dir: Path) -> dict[str, Any]:
    """Row metrics of a finished run: final quality, wall time, bytes sent, max epsilon."""
    run = load_run(run_dir)
    if run.summary is None or run.status != "complete":
        raise DataError(f"{run_dir}: run is not complete (status {run.status!r}); no result row written")
    final = run.summary.get("final") or run.rounds[-1]
    eps = [float(r["epsilon_max"]) for r in run.rounds if r.get("epsilon_max") is not None]
    eps += [float(e["epsilon"]) for entries in run.ledgers.values() for e in entries if "epsilon" in e]
    wall = run.summary.get("total_wall_time_s", run.summary.get("wall_time_s"))
    return {"accuracy": final.get("accuracy"), "macro_f1": final.get("macro_f1"), "wall_time_s": wall,
            "bytes_sent": sum(int(r.get("bytes_up") or 0) for r in run.rounds),
            "epsilon": max(eps) if eps else None,
            "perplexity_before": run.summary.get("perplexity_before"),  # causal-lm runs only
            "perplexity_after": run.summary.get("perplexity_after")} | _ranking(run.summary)


def _ranking(summary: dict[str, Any]) -> dict[str, Any]:
    """A recommendation run's held-out ranking figures (empty for the other tasks)."""
    if summary.get("task") != RECOMMEND:
        return {}
    after, pop = summary["after"], summary["popularity_baseline"]
    keys = ("auc", "hit_rate_at_10", "ndcg_at_10")
    return ({"auc_before": summary["before"]["auc"]} | {k: after[k] for k in keys}
            | {f"popularity_{k}": pop[k] for k in keys})


def _simulate(recipe: Recipe, cfg: Any, resources: SimResources) -> tuple[Path, int]:
    """Run the recipe's federation; (its run directory, how many simulated clients)."""
    if recipe.task == CAUSAL:
        from fedflm.causal.simulate import simulate_causal

        return Path(simulate_causal(cfg, resources)["run_dir"]), cfg.clients
    if recipe.task == RECOMMEND:
        from fedflm.recommend.simulate import simulate_recommend

        return Path(simulate_recommend(cfg, resources)["run_dir"]), cfg.clients
    from fedflm.fl.simulation import run_simulation

    return run_simulation(cfg, resources=resources).run_dir, cfg.fed.clients


def _resolved(recipe: Recipe, run_dir: Path) -> dict[str, Any]:
    """The config the run resolved (its config.toml), sectioned like the recipe."""
    resolved = tomllib.loads((run_dir / "config.toml").read_text(encoding="utf-8"))
    if recipe.task in FLAT_TASKS:  # the flat dashed run-config form, with task = causal-lm / recommend
        resolved = {recipe.task: {k.replace("-", "_"): v for k, v in resolved.items() if k != "task"}}
    return json.loads(json.dumps(resolved))


def run_recipe(recipe: Recipe, seed: int, *, runs_dir: Path, repo: Path,
               resources: SimResources = SimResources()) -> dict[str, Any]:
    """Run one seed of ``recipe``; write its report; return its validated result row. ``resources``: what
    each simulated client reserves (default: Flower's split of this machine's cores, fedflm.fl.resources)."""
    from fedflm.fl.resources import reserved_cpus
    from fedflm.report.html import write_report

    commit, dirty = git_commit(repo)
    out = runs_dir / recipe.name / f"seed{seed}-{commit[:7]}"
    cfg = run_config(recipe, seed, out)
    machine = machine_info()  # before the run: the load average says how shared the machine was
    run_dir, clients = _simulate(recipe, cfg, resources)
    machine["torch_threads"] = max(1, int(reserved_cpus(resources, clients)))  # what each client actor trained with
    write_report(run_dir)
    if recipe.task in FLAT_TASKS or cfg.model.device == "cpu":  # causal-lm and recommend train on the CPU
        machine["gpu"] = None  # a GPU sat idle: the figures are CPU figures
    return make_row(recipe=recipe.name, dataset=recipe.dataset, description=recipe.description, seed=seed,
                    config=_resolved(recipe, run_dir), metrics=run_metrics(run_dir),
                    commit=commit, dirty=dirty, machine=machine, run_dir=_relative(run_dir, repo))


def _relative(path: Path, repo: Path) -> str:
    """``path`` relative to the checkout when inside it (rows travel between machines)."""
    try:
        return str(Path(path).resolve().relative_to(Path(repo).resolve()))
    except ValueError:
        return str(path)


def row_line(row: dict[str, Any]) -> str:
    """One printed line per result row: its quality figures (accuracy or perplexity), ε, wall time, file."""
    m = row["metrics"]
    if m.get("perplexity_after") is not None:
        quality = f"perplexity {m['perplexity_before']:.3f} -> {m['perplexity_after']:.3f}"
    elif m.get("auc") is not None:
        quality = (f"AUC {m['auc_before']:.4f} -> {m['auc']:.4f}, HitRate@10 {m['hit_rate_at_10']:.4f}, NDCG@10 "
                   f"{m['ndcg_at_10']:.4f} (popularity AUC {m['popularity_auc']:.4f}, NDCG@10 "
                   f"{m['popularity_ndcg_at_10']:.4f})")
    else:
        quality = f"accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}"
    eps = "none" if m["epsilon"] is None else f"{m['epsilon']:.2f}"
    wall = "?" if m.get("wall_time_s") is None else f"{m['wall_time_s']:.0f}"
    return (f"{row['recipe']} seed {row['seed']}: {quality}, epsilon {eps}, wall {wall} s "
            f"-> {row.get('result_file', '(not written)')}")


def run_and_record(name_or_path: str, *, seeds: tuple[int, ...] | None, recipes_dir: Path, runs_dir: Path,
                   results_dir: Path | None, repo: Path,
                   resources: SimResources = SimResources()) -> list[dict[str, Any]]:
    """Run the given seeds (default: the recipe's) and write one result row per seed."""
    from fedflm.report.results import write_row

    recipe = load_recipe(resolve_recipe_path(name_or_path, recipes_dir))
    rows = []
    for seed in seeds or recipe.seeds:
        row = run_recipe(recipe, seed, runs_dir=runs_dir, repo=repo, resources=resources)
        if results_dir is not None:
            row["result_file"] = str(write_row(row, results_dir))
        rows.append(row)
    return rows

"""``fedflm simulate --task causal-lm``: the causal-LM federation (fedflm.causal.simulate).

It reads the simulate flags that apply to it (given ones only, over a ``--config`` file's keys)
plus its own (``--max-sequences``, ``--prompts``); a classification-only flag is refused by name.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fedflm.errors import ConfigError

TASKS = ("classify", "causal-lm", "recommend")


def add_task_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("task (issue 25)")
    g.add_argument("--task", choices=TASKS, default="classify",
                   help="classify (default) | causal-lm: instruction/response or plain-text records "
                        "(--dataset synthetic:N | FILE.jsonl | FILE.txt; --model smollm2 by default), "
                        "response-only loss, LoRA on the attention projections, held-out perplexity | "
                        "recommend: interaction logs (--dataset synthetic:N | FILE.csv | FILE.jsonl), a bi-encoder "
                        "on the frozen pooled vectors, one user = one privacy unit, AUC / HitRate@10 / NDCG@10")
    g.add_argument("--max-sequences", type=int, default=None,
                   help="causal-lm: sequences of --max-length kept per record (one privacy unit), default 4")
    g.add_argument("--prompts", type=int, default=None,
                   help="causal-lm: held-out prompts generated before/after for the summary, default 3")
    for flag, text in (("--max-history", "history items in the user text, most recent first, default 10"),
                       ("--train-negatives", "sampled negatives per training positive, default 1"),
                       ("--eval-positives", "last positives of a held-out user to rank, default 2"),
                       ("--eval-negatives", "sampled negatives among a held-out user's candidates, default 50"),
                       ("--embed-dim", "width of the bi-encoder's towers, default 64")):
        g.add_argument(flag, type=int, default=None, help=f"recommend: {text}")
    g.add_argument("--tower-init", choices=("shared", "random"), default=None,
                   help="recommend: shared (default; both towers start as one projection, so the score starts "
                        "as the encoder's similarity of history and candidate) | random")


def causal_values(args: argparse.Namespace, file_values: dict[str, Any]) -> dict[str, Any]:
    """The causal-LM settings given in the config file and on the command line."""
    from fedflm.causal.config import CausalRunConfig

    return task_values(CausalRunConfig, args, file_values)


def task_values(cls: Any, args: argparse.Namespace, file_values: dict[str, Any]) -> dict[str, Any]:
    """The settings of task config ``cls`` given in the config file and on the command line."""
    from fedflm.causal.config import CausalRunConfig
    from fedflm.config import RunConfig
    from fedflm.recommend.config import RecommendRunConfig

    ours = cls.flat_keys()
    known = set(RunConfig.flat_keys()) | CausalRunConfig.flat_keys() | RecommendRunConfig.flat_keys()
    given = {k.replace("-", "_"): v for k, v in file_values.items() if k != "task"}
    given |= {k: v for k, v in vars(args).items() if v is not None and k in known}
    refused = sorted(k for k in given if k not in ours)
    if refused:
        raise ConfigError(f"not available with --task {cls.TASK}: {', '.join('--' + k.replace('_', '-') for k in refused)}")
    return given


def _announce(cfg: Any, sizes: list[int]) -> None:
    from fedflm.privacy.federation import plan_text

    print(f"fedflm simulate --task causal-lm: {cfg.dataset}, {cfg.clients} owners ({min(sizes)}-{max(sizes)} "
          f"records each), {cfg.rounds} rounds, model {cfg.model}; Flower Simulation Engine", flush=True)
    if cfg.privacy.dp == "sample":
        print(plan_text(cfg.as_run_config(), sizes), flush=True)
    else:
        print("WARNING: --dp none: no formal privacy for the data owners", flush=True)


def run_causal(args: argparse.Namespace, file_values: dict[str, Any]) -> int:
    from fedflm.causal.config import CausalRunConfig

    cfg = CausalRunConfig.from_flat(causal_values(args, file_values))  # config errors before heavy imports
    from fedflm.causal.simulate import simulate_causal
    from fedflm.cli.resource_flags import resources_from

    resources = resources_from(args)
    summary = simulate_causal(cfg, resources, on_prepared=_announce)
    print(f"perplexity on {summary['eval_records']} held-out records: {summary['perplexity_before']:.3f} -> "
          f"{summary['perplexity_after']:.3f}; epsilon max {summary['epsilon_max']}; "
          f"wall {summary['total_wall_time_s']:.0f} s")
    for g in summary["generations"]:
        print(f"  prompt: {g['prompt']!r}\n    before: {g['before']!r}\n    after:  {g['after']!r}")
    from fedflm.api import write_run_report

    report = write_run_report(Path(summary["run_dir"]))
    print(f"run directory: {summary['run_dir']}" + (f"; report: {report}" if report else ""))
    return 0

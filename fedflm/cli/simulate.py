"""``fedflm simulate``: a simulated federation on real data, in one command."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from fedflm.config import RunConfig, run_warnings
from fedflm.errors import ConfigError

HELP = {
    "dataset": "built-in sst2 | banking77, or a .csv/.tsv/.jsonl/.parquet file",
    "text_column": "text column of a user file (default: text)",
    "label_column": "label column of a user file (default: label); strings or ints",
    "eval_file": "the server's held-out set for a user file (else --eval-fraction is held out)",
    "eval_fraction": "stratified fraction held out for global evaluation (default 0.2)",
    "eval_samples": "cap the global evaluation set (stratified; 0 = all)",
    "partition": "iid | dirichlet:ALPHA | pathological:K | column:NAME",
    "samples_per_client": "cap each client's examples (0 = all) for quick runs",
    "max_length": "maximum tokens per text",
    "prepare": "run each simulated data owner's real prepare step (de-identify + encrypt its "
               "partition under its own key) and train from the encrypted stores",
    "model": "minilm (packaged, offline), a local model directory or a hub id",
    "target_modules": "LoRA target modules, comma separated (default: by architecture)",
    "lora_layers": "put LoRA on the top N transformer layers only (0 = every layer); "
                   "fewer trainable tensors: faster backward on CPU, less DP noise",
    "device": "auto | cpu | cuda",
    "pooling": "auto | mean | cls | last | max: how token states become the sentence vector the head reads "
               "(auto: the model's own sentence-transformers config, else cls for encoders, last for decoders)",
    "train_mode": "head (frozen encoder, linear head only) | lora (LoRA + head) | lp-ft (head rounds, "
                  "then LoRA + head); also --train",
    "head_rounds": "lp-ft: rounds of the head phase (0 = half of the rounds)",
    "feature_cache": "compute the frozen part of the model once per owner per run, in memory only",
    "local_steps": "local steps per round (0 = use --local-epochs; --local-epochs given alone means epochs)",
    "clients": "number of simulated clients",
    "rounds": "number of federated rounds",
    "fraction_train": "fraction of clients sampled per round",
    "min_clients": "minimum clients needed to run a round",
    "out": "run directory (default runs/<timestamp>)",
    "dp": "sample (DP-SGD per client) | client (client-level DP) | none",
    "epsilon": "target epsilon of each data owner after the last round",
    "noise_multiplier": "fixed noise multiplier instead of --epsilon",
    "max_epsilon": "data owner's epsilon cap: a client refuses rounds beyond it",
    "delta": "DP delta of each data owner (sample-level) or of the federation (client-level)",
    "max_grad_norm": "per-sample clipping norm C (sample-level) / client update clipping norm (client-level)",
    "accountant": "rdp | prv (Opacus accountants)",
    "secure_mode": "DP noise and sampling from the OS CSPRNG (use in deployment; slower)",
    "privacy_state": "directory of the data owners' privacy state and ledgers; reuse it across runs "
                     "on the same data so that epsilon accumulates (default for simulate: inside the run directory)",
    "run_id": "this run's id in the privacy ledgers (default: run directory name + random suffix)",
}


def _field_types() -> dict[str, Any]:
    from fedflm import config as c
    types: dict[str, Any] = {}
    for cls in (c.DataConfig, c.ModelConfig, c.TrainConfig, c.FedConfig, c.DPConfig):
        for f in dataclasses.fields(cls):
            types[f.name] = (f.type, f.default)
    return types


def _argtype(type_str: str):
    t = str(type_str)
    if t.startswith("bool"):
        return lambda s: s.lower() in ("1", "true", "yes", "on")
    if t.startswith("int"):
        return int
    if t.startswith("float"):
        return float
    return str


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a simulated federation (Flower Simulation Engine)",
                       description="Fine-tune a LoRA adapter across simulated clients with "
                                   "FedAvg and a global evaluation every round.")
    p.add_argument("--config", type=Path, help="TOML file with the same keys (flags override it)")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    for name, (ftype, default) in _field_types().items():
        shown = "" if default in (None, "", ()) else f" [default: {default}]"
        switch = {"nargs": "?", "const": True} if str(ftype).startswith("bool") else {}
        flags = [f"--{name.replace('_', '-')}"] + (["--train"] if name == "train_mode" else [])
        p.add_argument(*flags, dest=name, type=_argtype(ftype),
                       default=None, metavar=name.split("_")[-1].upper(),
                       help=HELP.get(name, name.replace("_", " ")) + shown, **switch)
    p.set_defaults(handler=run)


def load_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def resolve_config(args: argparse.Namespace) -> RunConfig:
    """Defaults, then --config FILE, then the flags given on the command line."""
    cfg = RunConfig()
    if args.config is not None:
        cfg = RunConfig.from_flat(load_config_file(args.config), base=cfg)
    flags = {k: v for k, v in vars(args).items()
             if k in RunConfig.flat_keys() and v is not None}
    return RunConfig.from_flat(flags, base=cfg)


def run(args: argparse.Namespace) -> int:
    cfg = resolve_config(args)  # config errors first, before the heavy imports
    from fedflm.cli.display import RichReporter, client_table, console, summary_table, warn
    from fedflm.fl import progress
    from fedflm.fl.simulation import simulate

    reporter = RichReporter()
    progress.set_reporter(None if args.quiet else reporter)
    with contextlib.ExitStack() as live:

        def on_prepared(stats, names) -> None:
            # Printed (and the live display started) only once the data has loaded and
            # partitioned, so that a user error is the only line on stderr.
            for text in run_warnings(cfg):
                warn(text)
            console.print(f"[bold]fedflm simulate[/]: {cfg.data.dataset}, {cfg.fed.clients} "
                          f"clients, {cfg.fed.rounds} rounds, partition {cfg.data.partition}, "
                          f"model {cfg.model.model}")
            console.print(client_table(stats, names))
            if cfg.privacy.dp != "none":
                from fedflm.privacy.federation import plan_text
                console.print(plan_text(cfg, [s.num_examples for s in stats]), markup=False)
            from fedflm.train.phases import plan_phases_text
            console.print(plan_phases_text(cfg, [s.num_examples for s in stats]), markup=False)
            if not args.quiet:
                live.enter_context(reporter)

        try:
            result = simulate(cfg, on_prepared=on_prepared)
        finally:
            progress.set_reporter(None)
    console.print(summary_table(result.metrics))
    for text in result.summary.get("warnings", []):
        if text.startswith("collapsed model"):
            warn(text)
    console.print(f"run directory: [bold]{result.run_dir}[/] "
                  f"(wall time {result.summary['total_wall_time_s']:.0f} s)")
    if result.report is not None:
        console.print(f"report: [bold]{result.report}[/]")
    return 0

"""One ``--flag`` per ``RunConfig`` key, shared by ``fedflm simulate`` and ``fedflm server start``.

Every flag defaults to None ("not given"), so that the defaults, a ``--config``
file and the flags given apply in that order. Boolean keys are switches that
also take a value: ``--secure-mode`` is ``--secure-mode true``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["HELP", "add_run_config_flags", "parse_bool"]

HELP = {
    "dataset": "built-in sst2 | banking77, or a .csv/.tsv/.jsonl/.parquet file",
    "text_column": "text column of a user file (default: text)",
    "label_column": "label column of a user file (default: label); strings or ints",
    "eval_file": "the server's held-out set for a user file (else --eval-fraction is held out)",
    "eval_fraction": "stratified fraction held out for global evaluation (default 0.2)",
    "eval_whole_text": "N:MIN_WORDS: when the evaluation set is carved from the training file (a sweep, or a file "
                       "without --eval-file), hold out N whole sentences of >= MIN_WORDS words instead of "
                       "--eval-fraction, and drop from training every row that is a piece of one (SST-2-like "
                       "files of phrases and their sentences)",
    "eval_samples": "cap the global evaluation set (stratified; 0 = all)",
    "partition": "iid | dirichlet:ALPHA | pathological:K | column:NAME",
    "samples_per_client": "cap each client's examples (0 = all) for quick runs",
    "max_length": "maximum tokens per text",
    "long_text": "truncate | head-tail | sliding:WINDOW:STRIDE[:mean|max]: how a text longer than --max-length is "
                 "cut (head-tail: a quarter of the tokens from the start, the rest from the end), or read in windows "
                 "of WINDOW tokens every STRIDE (--max-length is then the document budget; evaluation pools a "
                 "document's window logits, mean by default; under DP a document is one privacy unit)",
    "on_leakage": "leakage check before training: owners compare keyed hashes (HMAC, a fresh key per run) of "
                  "their records with the server's held-out set and report the overlap count; off | warn | "
                  "exclude (drop them from training) | fail (refuse; the run ends)",
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
    "proto_fraction": "head / lp-ft: share of each owner's epsilon spent in round 1 on a one-shot DP-prototype "
                      "head (noisy per-class sums of the frozen sentence vectors; 0 = off)",
    "proto_scale": "prototype head: each class row normalised, times this (the logits' scale)",
    "name_prior": "prototype head: weight of the class names' own sentence vectors mixed into each row "
                  "(a zero-shot prior from public label names; no privacy cost; 0 = off)",
    "feature_cache": "compute the frozen part of the model once per owner per run, in memory only",
    "local_steps": "local steps per round (0 = use --local-epochs; --local-epochs given alone means epochs)",
    "loss": "ce | weighted[:POWER[:FLOOR]] (class weights from each client's own label counts; FLOOR: "
            "least weight / largest, keeps DP-SGD's signal on sparse owners) | focal:GAMMA | "
            "gce:Q (noise-robust); all per-sample under DP-SGD",
    "label_smoothing": "label smoothing EPS for ce, weighted and focal (0 = off)",
    "resample": "none | oversample | undersample, by each client's own label counts; undersample raises "
                "DP-SGD's q to batch / kept rows; oversample is refused under --dp sample",
    "lr_schedule": "learning rate across rounds: constant | cosine[:MIN_FRACTION] | exponential:GAMMA",
    "warmup_rounds": "linear learning-rate warm-up over the first N rounds (r / (N + 1))",
    "lr_within": "learning rate over a round's local steps: constant | linear | cosine",
    "augment": "none | edit[:COPIES]: COPIES token-edited copies (random deletion and swap, p 0.1) of each "
               "training record; under DP-SGD a record and its copies are one privacy unit (their gradients are "
               "averaged, then clipped; q counts records); needs --feature-cache false",
    "val_fraction": "stratified fraction of the held-out set used as the server's validation split for model "
                    "selection (the rest is the test split; 0 = none)",
    "patience": "early stopping: stop after N rounds without validation improvement (needs --val-fraction; "
                "0 = never); rounds not run spend no privacy budget",
    "select_metric": "validation metric that selects the best round: macro_f1 | accuracy | macro_recall | loss",
    "clients": "number of simulated clients",
    "rounds": "number of federated rounds",
    "fraction_train": "fraction of clients sampled per round",
    "min_clients": "minimum clients needed to run a round",
    "out": "run directory (default runs/<timestamp>)",
    "init_from": "continue from a finished run directory: start from its global adapter and head (labels "
                 "matched by name); the owners' epsilon keeps accumulating",
    "allow_new_labels": "with --init-from: accept labels the earlier run did not have (new head rows; "
                        "the earlier rows are kept)",
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
    "lora_variant": "standard | ffa (FFA-LoRA: A frozen at the shared seeded init, only B and the head "
                    "trained and sent; needs --train lora or lp-ft)",
    "strategy": "fedavg | fedprox:MU (proximal term at the clients) | fedavgm[:MOMENTUM] (default 0.9) | "
                "fedadam[:ETA] | fedyogi[:ETA] | fedadagrad[:ETA] (server optimizers on the mean update; ETA "
                "default 0.1)",
    "robust": "none | norm:C (clip each update to norm C) | median | trimmed:BETA | krum:F | multikrum:F:M; "
              "rejected/clipped clients are recorded per round in metrics.jsonl",
    "attack": "EVALUATION ONLY, simulation: signflip | scale:K | labelflip | noise:S sent by --attackers",
    "attackers": "fraction of the simulated clients that attack (with --attack)",
    "secagg": "secure aggregation (Flower's SecAgg+): owners send masked, quantised updates and the server "
              "learns only their sum (FedAvg / FedProx; no robust rule, no --dp client; simulation only)",
    "secagg_threshold": "secagg: shares needed to rebuild a dropped owner's masks, as a fraction of the owners "
                        "in the round (at least 2); owners that drop after sharing keys are tolerated while at "
                        "least this many remain",
    "secagg_clip": "secagg: each coordinate of an update (the adapter's change in the round) is clipped to "
                   "+-this before quantisation",
    "participation": "all: calibrate each owner's noise for training in every round | sampled: for the rounds it "
                     "is likely sampled in (--fraction-train; 99.9 %% quantile); an owner then refuses any round "
                     "that would pass its epsilon target",
    "amplify_by_sampling": "dp sample: the server samples each owner in each round independently with probability "
                           "--fraction-train from the OS CSPRNG (Poisson, secret), and the run also reports an "
                           "AMPLIFIED epsilon per owner, labelled epsilon_amplified. THREAT MODEL: that figure is "
                           "valid ONLY against an adversary who sees the released global models alone, never the "
                           "updates or who was sampled; against the server only the unamplified epsilon holds, and "
                           "the owners' ledgers, caps and refusals always use the unamplified figure",
    "run_id": "this run's id in the privacy ledgers (default: run directory name + random suffix)",
}


_TRUE = ("1", "true", "yes", "on")


def parse_bool(text: str) -> bool:
    """``true/yes/on/1`` (any case) is True, anything else False."""
    return text.lower() in _TRUE


def _field_types() -> dict[str, tuple[Any, Any]]:
    from fedflm import config as c
    types: dict[str, tuple[Any, Any]] = {}
    for cls in (c.DataConfig, c.ModelConfig, c.TrainConfig, c.FedConfig, c.DPConfig, c.AggConfig):
        for f in dataclasses.fields(cls):
            types[f.name] = (f.type, f.default)
    return types


def _argtype(type_str: Any) -> Callable[[str], Any]:
    t = str(type_str)
    if t.startswith("bool"):
        return parse_bool
    if t.startswith("int"):
        return int
    if t.startswith("float"):
        return float
    return str


def add_run_config_flags(parser: argparse.ArgumentParser, skip: Iterable[str] = (),
                         defaults: dict[str, Any] | None = None) -> None:
    """Add ``--KEY`` for every ``RunConfig`` key but ``skip``; ``defaults`` overrides the shown defaults."""
    shown_defaults = defaults or {}
    for name, (ftype, default) in _field_types().items():
        if name in skip:
            continue
        default = shown_defaults.get(name, default)
        shown = "" if default in (None, "", ()) else f" [default: {default}]"
        switch = {"nargs": "?", "const": True} if str(ftype).startswith("bool") else {}
        flags = [f"--{name.replace('_', '-')}"] + (["--train"] if name == "train_mode" else [])
        parser.add_argument(*flags, dest=name, type=_argtype(ftype), default=None,
                            metavar=name.split("_")[-1].upper(),
                            help=HELP.get(name, name.replace("_", " ")) + shown, **switch)

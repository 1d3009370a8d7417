"""Frozen, validated configuration for a fedflm run.

One dataclass per concern; each validates itself on construction and names
the bad value; the rules across sections are in :mod:`fedflm.config_rules`.
:class:`RunConfig` bundles them and converts to and from the
flat ``key = value`` form used by the CLI, ``--config FILE`` (TOML) and
Flower's ``run_config`` (keys with dashes, scalar values only).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from fedflm.config_rules import ATTACKS, ROBUST_RULES, STRATEGIES, check_combination, parse_spec
from fedflm.config_rules import check as _check
from fedflm.data.holdout import parse_whole_text
from fedflm.errors import ConfigError
from fedflm.options import (LEAKAGE_MODES, LR_WITHIN, RESAMPLE, SELECT_METRICS, parse_augment, parse_long_text,
                            parse_loss, parse_schedule)

_PARTITION_RE = re.compile(r"^(iid|dirichlet:[0-9.eE+-]+|pathological:\d+|column:.+)$")


def check_epsilon_cap(value: float | None, name: str = "max_epsilon") -> None:
    """An owner's epsilon cap is None (no cap) or a finite number > 0 (run config, owner policy, owner state)."""
    _check(value is None or (math.isfinite(value) and value > 0), f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it is split among clients."""

    dataset: str = "sst2"
    text_column: str | None = None
    label_column: str | None = None
    eval_file: str | None = None
    eval_fraction: float = 0.2
    eval_whole_text: str = ""  # issue 15: N:MIN_WORDS, whole sentences held out instead (fedflm/data/holdout.py)
    eval_samples: int = 0
    partition: str = "dirichlet:0.5"
    samples_per_client: int = 0
    max_length: int = 128
    prepare: bool = False
    val_fraction: float = 0.0  # issue 22: validation split carved from the held-out set (model selection)
    on_leakage: str = "off"  # issue 22: off | warn | exclude | fail (fedflm/data/leakage.py)
    long_text: str = "truncate"  # issue 22: truncate | head-tail | sliding:WINDOW:STRIDE[:mean|max] (options.py)

    def __post_init__(self) -> None:
        _check(bool(self.dataset), "dataset must be a built-in name or a file path, got ''")
        _check(0.0 < self.eval_fraction < 1.0,
               f"eval_fraction must be in (0, 1), got {self.eval_fraction}")
        if self.eval_whole_text:
            parse_whole_text(self.eval_whole_text)
        _check(self.eval_samples >= 0, f"eval_samples must be >= 0, got {self.eval_samples}")
        _check(self.samples_per_client >= 0,
               f"samples_per_client must be >= 0 (0 = all), got {self.samples_per_client}")
        _check(0.0 <= self.val_fraction < 1.0, f"val_fraction must be in [0, 1), got {self.val_fraction}")
        _check(self.on_leakage in LEAKAGE_MODES,
               f"on_leakage must be one of {', '.join(LEAKAGE_MODES)}, got {self.on_leakage!r}")
        _check(8 <= self.max_length <= 4096,
               f"max_length must be in [8, 4096], got {self.max_length}")
        parse_long_text(self.long_text, self.max_length)
        _check(bool(_PARTITION_RE.match(self.partition)),
               "partition must be iid, dirichlet:ALPHA, pathological:K or column:NAME, "
               f"got {self.partition!r}")
        if self.partition.startswith("dirichlet:"):
            raw = self.partition.split(":", 1)[1]
            try:
                alpha = float(raw)
            except ValueError:
                raise ConfigError(f"dirichlet alpha must be a number, got {raw!r}") from None
            _check(0 < alpha < float("inf"), f"dirichlet alpha must be finite and > 0, got {alpha}")
        if self.partition.startswith("pathological:"):
            k = int(self.partition.split(":", 1)[1])
            _check(k >= 1, f"pathological K must be >= 1, got {k}")


@dataclass(frozen=True)
class ModelConfig:
    """The pretrained model and its LoRA adapter."""

    model: str = "minilm"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ()
    lora_layers: int = 0
    device: str = "auto"
    pooling: str = "auto"  # auto | mean | cls | last | max (auto: the model's own sentence config)
    lora_variant: str = "standard"  # standard | ffa (FFA-LoRA: A frozen at the seeded init, never sent)

    def __post_init__(self) -> None:
        _check(bool(self.model), "model must be 'minilm', a local path or a hub id, got ''")
        _check(self.lora_r > 0, f"lora_r must be positive, got {self.lora_r}")
        _check(self.lora_alpha > 0, f"lora_alpha must be positive, got {self.lora_alpha}")
        _check(0.0 <= self.lora_dropout < 1.0,
               f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        _check(self.lora_layers >= 0,
               f"lora_layers must be >= 0 (0 = every layer), got {self.lora_layers}")
        _check(self.pooling in ("auto", "mean", "cls", "last", "max"),
               f"pooling must be auto, mean, cls, last or max, got {self.pooling!r}")
        _check(self.lora_variant in ("standard", "ffa"),
               f"lora_variant must be standard or ffa, got {self.lora_variant!r}")
        _check(self.device in ("auto", "cpu", "cuda"),
               f"device must be auto, cpu or cuda, got {self.device!r}")
        if isinstance(self.target_modules, str):  # "query,value" from flat configs
            mods = tuple(m.strip() for m in self.target_modules.split(",") if m.strip())
            object.__setattr__(self, "target_modules", mods)


@dataclass(frozen=True)
class TrainConfig:
    """One client's local training in a round."""

    local_epochs: int = 1
    local_steps: int = 20  # chosen with fedflm sweep (simulations/sweeps/, README "Choosing hyperparameters")
    batch_size: int = 64
    lr: float = 0.1  # with the prototype head below: simulations/tune_head.py on a validation split (README)
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    train_mode: str = "head"  # head (frozen encoder) | lora | lp-ft (head rounds, then LoRA + head)
    head_rounds: int = 0  # lp-ft: rounds of the head phase (0 = half of the rounds, rounded up)
    feature_cache: bool = True  # compute the frozen part's output once per owner per run (memory only)
    # issue 22 (fedflm/options.py): loss, resampling, learning-rate schedules
    loss: str = "ce"  # ce | weighted[:POWER[:FLOOR]] | focal:GAMMA | gce:Q
    label_smoothing: float = 0.0
    resample: str = "none"  # none | oversample | undersample (by the client's own label counts)
    lr_schedule: str = "constant"  # across rounds: constant | cosine[:MIN_FRACTION] | exponential:GAMMA
    warmup_rounds: int = 0  # linear warm-up over the first rounds, before lr_schedule
    lr_within: str = "constant"  # within a round, over its local steps: constant | linear | cosine
    augment: str = "none"  # none | edit[:COPIES]: token-edited copies, one privacy unit per record (augment.py)
    proto_fraction: float = 0.8  # head / lp-ft: share of each owner's epsilon for a one-shot DP-prototype head (0 = off)
    proto_scale: float = 30.0  # prototype head: each class row normalised, times this
    name_prior: float = 0.0  # prototype head: weight of the class names' sentence vectors (0 = off; public, free)

    def __post_init__(self) -> None:
        _check(self.local_epochs >= 1, f"local_epochs must be >= 1, got {self.local_epochs}")
        _check(self.local_steps >= 0, f"local_steps must be >= 0 (0 = epochs), got {self.local_steps}")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(0.0 < self.lr < 1.0, f"lr must be in (0, 1), got {self.lr}")
        _check(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        _check(self.optimizer == "adamw", f"optimizer must be 'adamw', got {self.optimizer!r}")
        _check(self.train_mode in ("head", "lora", "lp-ft"),
               f"train_mode must be head, lora or lp-ft, got {self.train_mode!r}")
        _check(self.head_rounds >= 0, f"head_rounds must be >= 0 (0 = half the rounds), got {self.head_rounds}")
        loss = parse_loss(self.loss)
        _check(0.0 <= self.label_smoothing < 1.0, f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        _check(not (loss.kind == "gce" and self.label_smoothing),
               f"label_smoothing applies to ce, weighted and focal, not to {self.loss!r}")
        _check(self.resample in RESAMPLE, f"resample must be {', '.join(RESAMPLE)}, got {self.resample!r}")
        parse_schedule(self.lr_schedule)
        _check(self.warmup_rounds >= 0, f"warmup_rounds must be >= 0, got {self.warmup_rounds}")
        _check(self.lr_within in LR_WITHIN, f"lr_within must be {', '.join(LR_WITHIN)}, got {self.lr_within!r}")
        _check(not (parse_augment(self.augment) and self.feature_cache),
               f"augment {self.augment!r} edits the encoder's input, so its output cannot be cached: "
               "pass --feature-cache false")
        _check(0.0 <= self.proto_fraction < 1.0, f"proto_fraction must be in [0, 1), got {self.proto_fraction}")
        _check(self.proto_scale > 0, f"proto_scale must be > 0, got {self.proto_scale}")
        _check(self.name_prior >= 0, f"name_prior must be >= 0 (0 = off), got {self.name_prior}")


@dataclass(frozen=True)
class FedConfig:
    """The federation: clients, rounds, sampling and the run directory."""

    clients: int = 10
    rounds: int = 10  # head rounds on cached features are cheap; DP spreads the budget over 10 x 20 steps
    fraction_train: float = 1.0
    min_clients: int = 2
    round_timeout: float = 3600.0
    seed: int = 42
    out: str = ""
    patience: int = 0  # issue 22: stop after this many rounds without validation improvement (0 = never)
    select_metric: str = "macro_f1"  # validation metric of model selection
    init_from: str = ""  # a finished run directory whose global adapter this run starts from
    allow_new_labels: bool = False  # --init-from: add head rows for labels the earlier run did not have

    def __post_init__(self) -> None:
        _check(self.clients >= 1, f"clients must be >= 1, got {self.clients}")
        _check(self.rounds >= 1, f"rounds must be >= 1, got {self.rounds}")
        _check(0.0 < self.fraction_train <= 1.0,
               f"fraction_train must be in (0, 1], got {self.fraction_train}")
        _check(self.min_clients >= 1, f"min_clients must be >= 1, got {self.min_clients}")
        _check(self.round_timeout > 0, f"round_timeout must be > 0, got {self.round_timeout}")
        _check(self.patience >= 0, f"patience must be >= 0 (0 = no early stopping), got {self.patience}")
        _check(self.select_metric in SELECT_METRICS,
               f"select_metric must be {', '.join(SELECT_METRICS)}, got {self.select_metric!r}")

    def sampled_clients(self) -> int:
        """Clients sampled per round: ``fraction_train`` of them, at least ``min_clients`` (at most all)."""
        return max(int(self.clients * self.fraction_train), min(self.min_clients, self.clients))

    def round_seed(self, server_round: int, partition_id: int = 0) -> int:
        """Seed of a client's batch order in a round: fixed by ``seed``, distinct per round and client."""
        return self.seed * 1000 + server_round * 97 + partition_id


@dataclass(frozen=True)
class DPConfig:
    """Differential privacy: sample-level (DP-SGD), client-level, or none."""

    dp: str = "sample"
    epsilon: float | None = 8.0
    delta: float = 1e-5
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    accountant: str = "rdp"
    max_epsilon: float | None = None
    secure_mode: bool = False
    privacy_state: str = ""  # root of the owners' privacy state ("" = ~/.fedflm/privacy; simulate: run dir)
    run_id: str = ""  # id of this run in the owners' ledgers ("" = chosen by the server)
    participation: str = "all"  # issue 24: calibrate for every round, or for the rounds an owner is sampled in
    amplify_by_sampling: bool = False  # issue 24: secret Poisson client sampling + an amplified epsilon (opt-in)

    @property
    def ledger_run_id(self) -> str:
        """The run's id as the owners' ledgers record it ("run" when the server named none)."""
        return self.run_id or "run"

    def __post_init__(self) -> None:
        _check(self.dp in ("sample", "client", "none"),
               f"dp must be sample, client or none, got {self.dp!r}")
        _check(self.epsilon is None or self.epsilon > 0,
               f"epsilon must be > 0, got {self.epsilon}")
        _check(0.0 < self.delta < 1.0, f"delta must be in (0, 1), got {self.delta}")
        _check(self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        _check(self.noise_multiplier is None or self.noise_multiplier > 0,
               f"noise_multiplier must be > 0, got {self.noise_multiplier}")
        _check(self.accountant in ("rdp", "prv"),
               f"accountant must be rdp or prv, got {self.accountant!r}")
        check_epsilon_cap(self.max_epsilon)
        _check(self.participation in ("all", "sampled"),
               f"participation must be all or sampled, got {self.participation!r}")
        _check(not self.amplify_by_sampling or self.dp == "sample",
               f"amplify_by_sampling needs dp sample (client-level DP amplifies by its own sampling), got dp {self.dp!r}")
        _check(re.fullmatch(r"[A-Za-z0-9._-]{0,128}", self.run_id) is not None,
               f"run_id must be up to 128 characters [A-Za-z0-9._-], got {self.run_id!r}")


@dataclass(frozen=True)
class AggConfig:
    """How the server combines updates (issue 21): strategy, robust rule, and the attack simulation."""

    strategy: str = "fedavg"  # fedavg | fedprox:MU | fedavgm[:MOMENTUM] | fedadam|fedyogi|fedadagrad[:ETA]
    robust: str = "none"  # none | norm:C | median | trimmed:BETA | krum:F | multikrum:F:M
    attack: str = "none"  # EVALUATION ONLY: none | signflip | scale:K | labelflip | noise:S
    attackers: float = 0.0  # fraction of the simulated clients that attack
    secagg: bool = False  # Flower's SecAgg+: the server learns only the sum of the masked, quantised updates
    secagg_threshold: float = 0.67  # shares needed to rebuild a dropped owner's masks, as a fraction of the round's
    secagg_clip: float = 64.0  # each update coordinate (adapter delta) is clipped to +-this before quantisation

    def __post_init__(self) -> None:
        _check(0.0 < self.secagg_threshold <= 1.0,
               f"secagg_threshold must be a fraction in (0, 1], got {self.secagg_threshold}")
        _check(self.secagg_clip > 0, f"secagg_clip must be > 0, got {self.secagg_clip}")
        name, args = parse_spec(self.strategy, STRATEGIES, "strategy")
        _check(name != "fedprox" or args[0] > 0, f"fedprox:MU needs MU > 0, got {self.strategy!r}")
        _check(name != "fedavgm" or not args or 0 <= args[0] < 1,
               f"fedavgm:MOMENTUM needs 0 <= MOMENTUM < 1, got {self.strategy!r}")
        _check(name not in ("fedadam", "fedyogi", "fedadagrad") or not args or args[0] > 0,
               f"{name}:ETA needs ETA > 0, got {self.strategy!r}")
        self._check_robust()
        kind, args = parse_spec(self.attack, ATTACKS, "attack")
        _check(kind != "noise" or args[0] > 0, f"noise:S needs S > 0, got {self.attack!r}")
        _check(0.0 <= self.attackers < 1.0, f"attackers must be a fraction in [0, 1), got {self.attackers}")
        _check((kind == "none") == (self.attackers == 0),
               f"--attack and --attackers go together, got attack={self.attack!r} attackers={self.attackers}")

    def _check_robust(self) -> None:
        name, args = parse_spec(self.robust, ROBUST_RULES, "robust")
        _check(name != "norm" or args[0] > 0, f"norm:C needs C > 0, got {self.robust!r}")
        _check(name != "trimmed" or 0 < args[0] < 0.5, f"trimmed:BETA needs 0 < BETA < 0.5, got {self.robust!r}")
        _check(name not in ("krum", "multikrum") or all(a == int(a) and a >= 0 for a in args),
               f"{name} needs whole numbers F >= 0 (and M), got {self.robust!r}")
        _check(name != "multikrum" or args[1] >= 1, f"multikrum:F:M needs M >= 1, got {self.robust!r}")

    @property
    def proximal_mu(self) -> float:
        """FedProx's mu (0 for every other strategy): the clients add the proximal term."""
        name, args = parse_spec(self.strategy, STRATEGIES, "strategy")
        return args[0] if name == "fedprox" else 0.0


_SECTIONS: dict[str, type] = {
    "data": DataConfig, "model": ModelConfig, "train": TrainConfig,
    "fed": FedConfig, "privacy": DPConfig, "agg": AggConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs; the resolved form is written to ``config.toml``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    fed: FedConfig = field(default_factory=FedConfig)
    privacy: DPConfig = field(default_factory=DPConfig)
    agg: AggConfig = field(default_factory=AggConfig)

    def __post_init__(self) -> None:
        check_combination(self)  # the rules across sections (fedflm/config_rules.py)

    # ------------------------------------------------------------ flat form
    @staticmethod
    def flat_keys() -> dict[str, tuple[str, str]]:
        """Map each flat key (``num_rounds`` style, unique) to (section, field)."""
        out: dict[str, tuple[str, str]] = {}
        for sec, cls in _SECTIONS.items():
            for f in fields(cls):
                out[f.name] = (sec, f.name)
        return out

    def to_flat(self) -> dict[str, Any]:
        """Flat dict of all values (None kept; tuples joined by commas)."""
        flat: dict[str, Any] = {}
        for sec in _SECTIONS:
            for k, v in dataclasses.asdict(getattr(self, sec)).items():
                flat[k] = ",".join(v) if isinstance(v, (tuple, list)) else v
        return flat

    def to_run_config(self) -> dict[str, Any]:
        """Flower ``run_config`` form: dashed keys, None as "" (``from_flat`` reads it back)."""
        return {k.replace("_", "-"): "" if v is None else v for k, v in self.to_flat().items()}

    @classmethod
    def from_flat(cls, values: Mapping[str, Any], base: "RunConfig | None" = None) -> "RunConfig":
        """Build from flat keys (dashes or underscores) over ``base``; unknown keys are errors."""
        base = base or cls()
        keys = cls.flat_keys()
        updates: dict[str, dict[str, Any]] = {sec: {} for sec in _SECTIONS}
        for raw_key, value in values.items():
            key = raw_key.replace("-", "_")
            if key in _SECTIONS and isinstance(value, Mapping):  # sectioned TOML
                for sub_key, sub_val in value.items():
                    updates[key][sub_key.replace("-", "_")] = sub_val
                continue
            if key not in keys:
                raise ConfigError(f"unknown config key {raw_key!r}")
            sec, name = keys[key]
            updates[sec][name] = value
        if "local_epochs" in updates["train"] and "local_steps" not in updates["train"]:
            updates["train"]["local_steps"] = 0  # asking for epochs means epochs (local_steps defaults to 20)
        if updates["fed"].get("init_from") and "proto_fraction" not in updates["train"]:
            updates["train"]["proto_fraction"] = 0.0  # continuing keeps the earlier head: no prototype round
        return cls(**{
            sec: dataclasses.replace(getattr(base, sec), **coerce_fields(_SECTIONS[sec], upd))
            for sec, upd in updates.items()
        })


def coerce_fields(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Coerce strings/ints coming from TOML, CLI or Flower to the field types ("" = None)."""
    types = {f.name: f.type for f in fields(cls)}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in types:
            raise ConfigError(f"unknown config key {name!r} in [{cls.__name__}]")
        t = str(types[name])
        try:
            if value is None or (value == "" and "None" in t):
                out[name] = None
            elif t.startswith("bool"):
                out[name] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            elif t.startswith("int"):
                out[name] = int(value)
            elif t.startswith("float"):
                out[name] = float(value)
            else:
                out[name] = value
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be of type {t}, got {value!r}") from None
    return out

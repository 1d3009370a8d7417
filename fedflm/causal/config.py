"""``--task causal-lm`` settings, frozen and validated; :meth:`CausalRunConfig.privacy_config` maps
them onto the classification task's config so that DP-SGD's plan, ledger and cap are shared."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from fedflm.config import DPConfig, FedConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError

#: the built-in set: ``synthetic:N`` generated records (fedflm.causal.records.synthetic_records)
SYNTHETIC = "synthetic"


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass(frozen=True)
class CausalRunConfig:
    """A simulated causal-LM federation (in one process; see fedflm.causal.simulate)."""

    dataset: str = "synthetic:2000"  # synthetic:N, or a .jsonl / .txt file (fedflm/causal/records.py)
    eval_file: str = ""
    eval_fraction: float = 0.1
    eval_samples: int = 0
    model: str = "smollm2"
    lora_r: int = 8
    lora_alpha: int = 16
    target_modules: tuple[str, ...] = ()
    max_length: int = 256
    max_sequences: int = 4  # sequences kept per record (one privacy unit however many)
    clients: int = 10
    rounds: int = 3
    local_steps: int = 10
    batch_size: int = 8  # expected records per step (Poisson rate batch / records under DP)
    lr: float = 2e-3
    dp: str = "sample"
    epsilon: float | None = 8.0
    delta: float = 1e-5
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    accountant: str = "rdp"
    seed: int = 0
    out: str = ""
    prompts: int = 3  # fixed held-out prompts generated for the report (0 = none)
    max_new_tokens: int = 24

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, str):
            object.__setattr__(self, "target_modules",
                               tuple(m.strip() for m in self.target_modules.split(",") if m.strip()))
        _check(self.dp in ("sample", "none"),
               f"dp must be sample or none for --task causal-lm (client-level DP is not built for it), got {self.dp!r}")
        _check(0 < self.eval_fraction < 1, f"eval_fraction must be in (0, 1), got {self.eval_fraction}")
        _check(self.eval_samples >= 0, f"eval_samples must be >= 0, got {self.eval_samples}")
        _check(8 <= self.max_length <= 4096, f"max_length must be in [8, 4096], got {self.max_length}")
        _check(self.max_sequences >= 1, f"max_sequences must be >= 1, got {self.max_sequences}")
        _check(self.prompts >= 0 and self.max_new_tokens >= 1,
               f"prompts must be >= 0 and max_new_tokens >= 1, got {self.prompts}, {self.max_new_tokens}")
        if self.dataset.startswith(SYNTHETIC):
            raw = self.dataset.partition(":")[2] or "2000"
            _check(raw.isdigit() and int(raw) >= 2, f"dataset synthetic:N needs N >= 2, got {self.dataset!r}")
        self.privacy_config()  # the shared checks: clients, rounds, batch, lr, epsilon, delta, ...

    def privacy_config(self) -> RunConfig:
        """The classification config that fedflm.privacy.federation reads (plan, ledger, cap)."""
        return RunConfig(
            train=TrainConfig(local_steps=self.local_steps or 1, batch_size=self.batch_size, lr=self.lr,
                              train_mode="lora", proto_fraction=0.0),
            fed=FedConfig(clients=self.clients, rounds=self.rounds, min_clients=1, seed=self.seed, out=self.out),
            privacy=DPConfig(dp=self.dp, epsilon=self.epsilon, delta=self.delta, max_grad_norm=self.max_grad_norm,
                             noise_multiplier=self.noise_multiplier, accountant=self.accountant,
                             privacy_state=self.out and f"{self.out}/privacy_state"))

    @classmethod
    def from_flat(cls, values: Mapping[str, Any]) -> "CausalRunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        clean = {k.replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(set(clean) - names)
        _check(not unknown, f"not a --task causal-lm setting: {', '.join(unknown)}")
        return cls(**clean)

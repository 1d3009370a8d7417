"""``--task causal-lm`` settings, frozen and validated. The privacy settings are a
:class:`~fedflm.config.DPConfig` (validated there); :meth:`CausalRunConfig.as_run_config` maps the
rest onto the classification task's config so that DP-SGD's plan, ledger, cap and the owner's
policy checks are shared. The flat form (``to_run_config`` / ``from_flat``) is what the CLI, a
``--config`` file and Flower's run config carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fedflm.config import DPConfig, FedConfig, ModelConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.task_config import FlatTaskConfig

#: the built-in set: ``synthetic:N`` generated records (fedflm.causal.records.synthetic_records)
SYNTHETIC = "synthetic"
#: the run config's ``task`` key, which sends a Flower message to the causal-LM apps
TASK = "causal-lm"


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass(frozen=True)
class CausalRunConfig(FlatTaskConfig):
    """A simulated causal-LM federation (Flower's Simulation Engine; see fedflm.causal.simulate).
    Its flat form (``to_run_config`` / ``from_flat``) is :class:`~fedflm.task_config.FlatTaskConfig`'s."""

    TASK: ClassVar[str] = TASK

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
    seed: int = 0
    out: str = ""
    round_timeout: float = 3600.0  # seconds the server waits for a round's replies (deployment: a lost node)
    prompts: int = 3  # fixed held-out prompts generated for the report (0 = none)
    max_new_tokens: int = 24
    privacy: DPConfig = DPConfig()

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, str):
            object.__setattr__(self, "target_modules",
                               tuple(m.strip() for m in self.target_modules.split(",") if m.strip()))
        _check(self.privacy.dp in ("sample", "none"), "dp must be sample or none for --task causal-lm "
                                                      f"(client-level DP is not built for it), got {self.privacy.dp!r}")
        _check(0 < self.eval_fraction < 1, f"eval_fraction must be in (0, 1), got {self.eval_fraction}")
        _check(self.eval_samples >= 0, f"eval_samples must be >= 0, got {self.eval_samples}")
        _check(8 <= self.max_length <= 4096, f"max_length must be in [8, 4096], got {self.max_length}")
        _check(self.max_sequences >= 1, f"max_sequences must be >= 1, got {self.max_sequences}")
        _check(self.prompts >= 0 and self.max_new_tokens >= 1,
               f"prompts must be >= 0 and max_new_tokens >= 1, got {self.prompts}, {self.max_new_tokens}")
        if self.dataset.startswith(SYNTHETIC):
            raw = self.dataset.partition(":")[2] or "2000"
            _check(raw.isdigit() and int(raw) >= 2, f"dataset synthetic:N needs N >= 2, got {self.dataset!r}")
        self.as_run_config()  # the shared checks: clients, rounds, batch, lr, ...

    def as_run_config(self) -> RunConfig:
        """The classification config that the privacy plan, ledger and owner policy read."""
        return RunConfig(
            model=ModelConfig(model=self.model, lora_r=self.lora_r, lora_alpha=self.lora_alpha, device="cpu"),
            train=TrainConfig(local_steps=self.local_steps or 1, batch_size=self.batch_size, lr=self.lr,
                              train_mode="lora", proto_fraction=0.0),
            fed=FedConfig(clients=self.clients, rounds=self.rounds, min_clients=1, seed=self.seed, out=self.out,
                          round_timeout=self.round_timeout),
            privacy=self.privacy)

"""``--task recommend`` settings, frozen and validated. The privacy settings are a
:class:`~fedflm.config.DPConfig`; :meth:`RecommendRunConfig.as_run_config` maps the rest onto the
classification task's config, so that DP-SGD's plan, ledger, cap and the owner's policy checks
are shared. Under DP-SGD ``batch_size`` counts *users* (the privacy unit): q = batch / users."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from fedflm.config import DPConfig, FedConfig, ModelConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.task_config import FlatTaskConfig

#: the built-in set: ``synthetic:N`` generated users (fedflm.recommend.synthetic.synthetic_log)
SYNTHETIC = "synthetic"
#: the run config's ``task`` key, which sends a Flower message to the recommendation apps
TASK = "recommend"
#: how the towers start (fedflm.recommend.model.TwoTower): "shared" -- both towers are one random projection
#: Q with Q^T Q ~ I, so the score starts as the encoder's similarity of history and candidate (a zero-shot
#: ranking that DP-SGD refines); "random" -- independent projections (the score starts near 0)
TOWER_INITS = ("shared", "random")


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


@dataclass(frozen=True)
class RecommendRunConfig(FlatTaskConfig):
    """A simulated recommendation federation (see fedflm.recommend.simulate)."""

    TASK: ClassVar[str] = TASK

    dataset: str = "synthetic:600"  # synthetic:N users, or a .csv / .jsonl interaction log (log.py)
    eval_fraction: float = 0.2  # share of users held out (evaluation only; they never train)
    eval_file: str = ""  # deployment: the server's own interaction log of held-out users (split.server_split)
    max_history: int = 10  # history items in the user text, most recent first
    train_negatives: int = 1  # sampled negatives per training positive
    eval_positives: int = 2  # last positives of a held-out user to rank
    eval_negatives: int = 50  # sampled negatives among a held-out user's candidates
    model: str = "minilm"
    pooling: str = "auto"  # the classifier's pooling (fedflm.models.pooling)
    max_length: int = 128
    embed_dim: int = 64  # width of the two towers' output
    tower_init: str = "shared"  # TOWER_INITS; tuned on validation users (README "Tuning")
    clients: int = 4
    rounds: int = 3
    local_steps: int = 20
    batch_size: int = 16  # expected users per step
    lr: float = 0.01
    seed: int = 0
    out: str = ""
    round_timeout: float = 3600.0  # seconds the server waits for a round's replies (deployment: a lost node)
    privacy: DPConfig = DPConfig()

    def __post_init__(self) -> None:
        _check(self.privacy.dp in ("sample", "none"), "dp must be sample (one user = one privacy unit) or none for "
                                                      f"--task recommend, got {self.privacy.dp!r}")
        _check(0 < self.eval_fraction < 1, f"eval_fraction must be in (0, 1), got {self.eval_fraction}")
        for name in ("local_steps", "max_history", "eval_positives", "eval_negatives", "embed_dim"):
            _check(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        _check(self.tower_init in TOWER_INITS, f"tower_init must be one of {', '.join(TOWER_INITS)}, "
                                               f"got {self.tower_init!r}")
        _check(self.train_negatives >= 0, f"train_negatives must be >= 0, got {self.train_negatives}")
        _check(8 <= self.max_length <= 512, f"max_length must be in [8, 512], got {self.max_length}")
        if self.dataset.startswith(SYNTHETIC):
            raw = self.dataset.partition(":")[2] or "600"
            _check(raw.isdigit() and int(raw) >= 4, f"dataset synthetic:N needs N >= 4 users, got {self.dataset!r}")
        self.as_run_config()  # the shared checks: pooling, clients, rounds, batch, lr, ...

    def as_run_config(self) -> RunConfig:
        """The classification config that the privacy plan, ledger and owner policy read (head mode:
        only the bi-encoder's towers train; ``num_examples`` of the plan is the owner's user count)."""
        return RunConfig(
            model=ModelConfig(model=self.model, pooling=self.pooling, device="cpu"),
            train=TrainConfig(local_steps=self.local_steps, batch_size=self.batch_size, lr=self.lr,
                              train_mode="head", proto_fraction=0.0),
            fed=FedConfig(clients=self.clients, rounds=self.rounds, min_clients=1, seed=self.seed, out=self.out,
                          round_timeout=self.round_timeout),
            privacy=self.privacy)

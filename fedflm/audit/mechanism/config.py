"""What the mechanism audit tests (the owner's claim) and how hard (its settings).

Plain dataclasses, cheap to import: the CLI reads their defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedflm.errors import ConfigError


@dataclass(frozen=True)
class Block:
    """One ledger entry's mechanism: ``steps`` DP-SGD steps at noise ``sigma`` and sample rate ``q``."""

    sigma: float
    q: float
    steps: int


@dataclass(frozen=True)
class MechanismClaim:
    """What the owner's ledger says was run, and the epsilon it claims for it."""

    history: tuple[Block, ...]
    max_grad_norm: float
    batch_size: int
    delta: float
    epsilon: float
    secure_mode: bool

    def __post_init__(self) -> None:
        if not self.history or any(b.steps < 1 or b.sigma <= 0 or not 0 < b.q <= 1 for b in self.history):
            raise ConfigError(f"history must be non-empty blocks with steps >= 1, sigma > 0, q in (0, 1]; "
                              f"got {self.history}")
        if not self.max_grad_norm > 0:
            raise ConfigError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if not 0 < self.delta < 1:
            raise ConfigError(f"delta must be in (0, 1), got {self.delta}")
        if not self.epsilon > 0:
            raise ConfigError(f"claimed epsilon must be > 0, got {self.epsilon}")

    @property
    def steps(self) -> int:
        return sum(b.steps for b in self.history)


@dataclass(frozen=True)
class MechanismConfig:
    """How hard to audit."""

    canaries: int = 20000  # per run; capped at the number of trainable coordinates
    runs: int = 10
    confidence: float = 0.95
    canary_norm: float = 10.0  # canary gradient norm, in units of the clipping norm
    # None: coin flips from the OS CSPRNG. Set, and the claim is not secure mode: the steps' noise and batches are
    # seeded from it too, so the same inputs and seed give the same bounds and verdict (a reproducible sign-off).
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.canaries < 2:
            raise ConfigError(f"canaries must be >= 2, got {self.canaries}")
        if self.runs < 1:
            raise ConfigError(f"runs must be >= 1, got {self.runs}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"confidence must be in (0, 1), got {self.confidence}")
        if not self.canary_norm >= 1:
            raise ConfigError(f"canary_norm must be >= 1, got {self.canary_norm}")

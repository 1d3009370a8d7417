"""Learning rates over rounds and within a round (clients are stateless: the round number decides).

Across rounds (``--lr-schedule``, ``--warmup-rounds W``), round ``r`` of ``R`` (1-based) trains
with ``lr * round_factor(r)``:

* warm-up: rounds ``1..W`` use ``r / (W + 1)`` (linear, every warm-up round below the peak);
* then, with ``t = r - W - 1`` and ``T = R - W`` rounds left:
  ``constant`` 1; ``cosine[:MIN]`` ``MIN + (1 - MIN) (1 + cos(pi t / T)) / 2`` (1 at the first
  round after warm-up, above MIN at the last); ``exponential:GAMMA`` ``GAMMA ** t``.

Within a round (``--lr-within``), step ``s`` of ``S`` multiplies that by ``constant`` 1,
``linear`` ``1 - s / S`` or ``cosine`` ``(1 + cos(pi s / S)) / 2`` (the last step above 0).

Under DP-SGD the learning rate is post-processing of the privatised gradients: no schedule
changes epsilon.
"""

from __future__ import annotations

import math

import torch

from fedflm.config import TrainConfig
from fedflm.errors import ConfigError
from fedflm.options import parse_schedule

__all__ = ["round_factor", "round_lr", "set_step_lr", "step_factor"]


def round_factor(train: TrainConfig, rounds: int, server_round: int) -> float:
    """The across-rounds factor of round ``server_round`` (1-based) of ``rounds``."""
    if not 1 <= server_round <= rounds:
        raise ConfigError(f"server_round must be in [1, {rounds}], got {server_round}")
    w = min(train.warmup_rounds, rounds - 1)
    if server_round <= w:
        return server_round / (w + 1)
    spec = parse_schedule(train.lr_schedule)
    t, span = server_round - w - 1, rounds - w
    if spec.kind == "cosine":
        return spec.param + (1.0 - spec.param) * 0.5 * (1.0 + math.cos(math.pi * t / span))
    if spec.kind == "exponential":
        return spec.param ** t
    return 1.0


def round_lr(train: TrainConfig, rounds: int, server_round: int) -> float:
    """The learning rate the round starts from."""
    return train.lr * round_factor(train, rounds, server_round)


def step_factor(kind: str, step: int, steps: int) -> float:
    """The within-round factor of local step ``step`` (0-based) of ``steps``."""
    if kind == "constant" or steps <= 0:
        return 1.0
    frac = min(step, steps) / steps
    if kind == "linear":
        return 1.0 - frac
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * frac))
    raise ConfigError(f"lr_within must be constant, linear or cosine, got {kind!r}")


def set_step_lr(optimizer: torch.optim.Optimizer, base_lr: float, kind: str, step: int, steps: int) -> None:
    """Set every parameter group's learning rate for this local step."""
    lr = base_lr * step_factor(kind, step, steps)
    for group in optimizer.param_groups:
        group["lr"] = lr

"""Learning-rate schedules: values per round (across rounds) and per local step (within a round)."""

from __future__ import annotations

import math

import pytest
import torch

from fedflm.config import TrainConfig
from fedflm.errors import ConfigError
from fedflm.train.schedule import round_factor, round_lr, set_step_lr, step_factor


def _factors(rounds: int, **train) -> list[float]:
    cfg = TrainConfig(**train)
    return [round_factor(cfg, rounds, r) for r in range(1, rounds + 1)]


def test_constant_schedule_keeps_the_learning_rate() -> None:
    # Execute / Assert
    assert [round_lr(TrainConfig(lr=0.3), 4, r) for r in range(1, 5)] == [0.3] * 4


def test_cosine_schedule_values_per_round() -> None:
    # Execute
    got = _factors(4, lr_schedule="cosine")

    # Assert: (1 + cos(pi t / 4)) / 2 for t = 0..3
    assert got == pytest.approx([1.0, (1 + math.sqrt(0.5)) / 2, 0.5, (1 - math.sqrt(0.5)) / 2])


def test_cosine_schedule_with_a_floor() -> None:
    # Execute
    got = _factors(3, lr_schedule="cosine:0.1")

    # Assert: 0.1 + 0.9 (1 + cos(pi t / 3)) / 2
    assert got == pytest.approx([1.0, 0.1 + 0.9 * 0.75, 0.1 + 0.9 * 0.25])


def test_exponential_schedule_values_per_round() -> None:
    # Execute / Assert
    assert _factors(4, lr_schedule="exponential:0.5") == pytest.approx([1.0, 0.5, 0.25, 0.125])


def test_linear_warmup_then_schedule() -> None:
    # Execute
    got = _factors(6, lr_schedule="exponential:0.5", warmup_rounds=3)

    # Assert: rounds 1-3 rise as r / 4, then the schedule starts from 1
    assert got == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.5, 0.25])


def test_warmup_longer_than_the_run_leaves_the_last_round_at_the_peak() -> None:
    # Execute / Assert
    assert _factors(3, warmup_rounds=10) == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_round_outside_the_run_is_an_error_naming_it() -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="got 5"):
        round_factor(TrainConfig(), 4, 5)


@pytest.mark.parametrize(("kind", "expected"), [
    ("constant", [1.0, 1.0, 1.0, 1.0]),
    ("linear", [1.0, 0.75, 0.5, 0.25]),
    ("cosine", [1.0, (1 + math.sqrt(0.5)) / 2, 0.5, (1 - math.sqrt(0.5)) / 2]),
])
def test_within_round_factors_per_step(kind: str, expected: list[float]) -> None:
    # Execute / Assert
    assert [step_factor(kind, s, 4) for s in range(4)] == pytest.approx(expected)


def test_set_step_lr_sets_every_parameter_group() -> None:
    # Prepare
    opt = torch.optim.AdamW([{"params": [torch.zeros(1, requires_grad=True)]},
                             {"params": [torch.zeros(1, requires_grad=True)]}], lr=1.0)

    # Execute
    set_step_lr(opt, 0.2, "linear", 1, 4)

    # Assert
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.15, 0.15])


@pytest.mark.parametrize(("field", "value"), [
    ("lr_schedule", "cosine:2"), ("lr_schedule", "step"), ("lr_schedule", "exponential:0"),
    ("lr_within", "warm"), ("warmup_rounds", -1)])
def test_bad_schedule_settings_name_the_value(field: str, value: object) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=str(value).split(":")[-1]):
        TrainConfig(**{field: value})

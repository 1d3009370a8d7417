"""Parsers of the training-quality options (issue 22): loss, resampling, learning-rate schedules.

Pure and torch-free, so that :mod:`fedflm.config` validates them on construction and the
training code (:mod:`fedflm.train.losses`, :mod:`fedflm.train.schedule`) reads the same
parsed form. Every parser raises :class:`~fedflm.errors.ConfigError` naming the bad value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from fedflm.errors import ConfigError

__all__ = ["LR_WITHIN", "RESAMPLE", "SELECT_METRICS", "LossSpec", "ScheduleSpec", "parse_loss", "parse_schedule"]

RESAMPLE = ("none", "oversample", "undersample")
LR_WITHIN = ("constant", "linear", "cosine")
#: metrics a run can select its best round on (higher is better, but ``loss``)
SELECT_METRICS = ("macro_f1", "accuracy", "macro_recall", "loss")


@dataclass(frozen=True)
class LossSpec:
    """A parsed ``--loss`` value: its kind and parameter (weighted power, focal gamma, gce q)."""

    kind: str
    param: float = 0.0


def _number(kind: str, raw: str, lo: float, hi: float, lo_open: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{kind} parameter must be a number, got {raw!r}") from None
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        raise ConfigError(f"{kind} parameter must be in {'(' if lo_open else '['}{lo:g}, {hi:g}], got {raw!r}")
    return value


_LOSS_RE = re.compile(r"^(ce|weighted(:[^:]+)?|focal:[^:]+|gce:[^:]+)$")


def parse_loss(text: str) -> LossSpec:
    """``ce`` | ``weighted[:POWER]`` (POWER in [0, 2], default 1) | ``focal:GAMMA`` ([0, 10]) | ``gce:Q`` ((0, 1])."""
    if not isinstance(text, str) or not _LOSS_RE.match(text):
        raise ConfigError(f"loss must be ce, weighted[:POWER], focal:GAMMA or gce:Q, got {text!r}")
    kind, _, raw = text.partition(":")
    if kind == "ce":
        return LossSpec("ce")
    if kind == "weighted":
        return LossSpec(kind, _number("weighted loss power", raw, 0.0, 2.0) if raw else 1.0)
    if kind == "focal":
        return LossSpec(kind, _number("focal loss gamma", raw, 0.0, 10.0))
    return LossSpec(kind, _number("gce loss q", raw, 0.0, 1.0, lo_open=True))


@dataclass(frozen=True)
class ScheduleSpec:
    """A parsed ``--lr-schedule`` value: constant, cosine (to ``param`` x lr) or exponential (``param`` per round)."""

    kind: str
    param: float = 0.0


_SCHEDULE_RE = re.compile(r"^(constant|cosine(:[^:]+)?|exponential:[^:]+)$")


def parse_schedule(text: str) -> ScheduleSpec:
    """``constant`` | ``cosine[:MIN_FRACTION]`` (default 0) | ``exponential:GAMMA`` (GAMMA in (0, 1])."""
    if not isinstance(text, str) or not _SCHEDULE_RE.match(text):
        raise ConfigError(f"lr_schedule must be constant, cosine[:MIN_FRACTION] or exponential:GAMMA, got {text!r}")
    kind, _, raw = text.partition(":")
    if kind == "constant":
        return ScheduleSpec("constant")
    if kind == "cosine":
        return ScheduleSpec(kind, _number("cosine minimum fraction", raw, 0.0, 1.0) if raw else 0.0)
    return ScheduleSpec(kind, _number("exponential gamma", raw, 0.0, 1.0, lo_open=True))

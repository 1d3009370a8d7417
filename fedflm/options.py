"""Parsers of the training-quality options (issue 22): loss, resampling, learning-rate schedules.

Pure and torch-free, so that :mod:`fedflm.config` validates them on construction and the
training code (:mod:`fedflm.train.losses`, :mod:`fedflm.train.schedule`) reads the same
parsed form. Every parser raises :class:`~fedflm.errors.ConfigError` naming the bad value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fedflm.errors import ConfigError

__all__ = ["LEAKAGE_MODES", "LONG_TEXT", "LR_WITHIN", "RESAMPLE", "SELECT_METRICS", "LossSpec", "ScheduleSpec", "parse_augment", "parse_loss", "parse_schedule"]

RESAMPLE = ("none", "oversample", "undersample")
#: --on-leakage: what an owner does with records shared with the server's held-out set (fedflm/data/leakage.py)
LEAKAGE_MODES = ("off", "warn", "exclude", "fail")
#: --long-text: how a text longer than max_length is cut (sliding windows: fedflm/train/long_text.py, not wired)
LONG_TEXT = ("truncate", "head-tail")
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


@dataclass(frozen=True)
class _Param:
    """The numeric parameter of one option form: its name, range, and default (None: required)."""

    what: str
    lo: float
    hi: float
    lo_open: bool = False
    default: float | None = None


def _parse(text: str, forms: dict[str, _Param | None], option: str, shown: str) -> tuple[str, float]:
    """(kind, parameter) of ``KIND[:VALUE]``; ConfigError naming ``text`` when it is no known form."""
    kind, sep, raw = text.partition(":") if isinstance(text, str) else ("", "", "")
    param = forms.get(kind)
    bad = (kind not in forms or ":" in raw or (sep and not raw) or (param is None and sep)
           or (param is not None and param.default is None and not raw))
    if bad:
        raise ConfigError(f"{option} must be {shown}, got {text!r}")
    if param is None:
        return kind, 0.0
    return kind, _number(param.what, raw, param.lo, param.hi, param.lo_open) if raw else float(param.default)


_LOSSES = {"ce": None, "weighted": _Param("weighted loss power", 0.0, 2.0, default=1.0),
           "focal": _Param("focal loss gamma", 0.0, 10.0), "gce": _Param("gce loss q", 0.0, 1.0, lo_open=True)}


def parse_loss(text: str) -> LossSpec:
    """``ce`` | ``weighted[:POWER]`` (POWER in [0, 2], default 1) | ``focal:GAMMA`` ([0, 10]) | ``gce:Q`` ((0, 1])."""
    return LossSpec(*_parse(text, _LOSSES, "loss", "ce, weighted[:POWER], focal:GAMMA or gce:Q"))


@dataclass(frozen=True)
class ScheduleSpec:
    """A parsed ``--lr-schedule`` value: constant, cosine (to ``param`` x lr) or exponential (``param`` per round)."""

    kind: str
    param: float = 0.0


_SCHEDULES = {"constant": None, "cosine": _Param("cosine minimum fraction", 0.0, 1.0, default=0.0),
              "exponential": _Param("exponential gamma", 0.0, 1.0, lo_open=True)}


def parse_schedule(text: str) -> ScheduleSpec:
    """``constant`` | ``cosine[:MIN_FRACTION]`` (default 0) | ``exponential:GAMMA`` (GAMMA in (0, 1])."""
    return ScheduleSpec(*_parse(text, _SCHEDULES, "lr_schedule", "constant, cosine[:MIN_FRACTION] or exponential:GAMMA"))


_AUGMENTS = {"none": None, "edit": _Param("augment copies", 1.0, 8.0, default=1.0)}


def parse_augment(text: str) -> int:
    """``none`` (0 copies) | ``edit[:COPIES]``: COPIES (1-8, default 1) token-edited copies of each record."""
    kind, copies = _parse(text, _AUGMENTS, "augment", "none or edit[:COPIES]")
    if copies != int(copies):
        raise ConfigError(f"augment copies must be a whole number, got {text!r}")
    return 0 if kind == "none" else int(copies)


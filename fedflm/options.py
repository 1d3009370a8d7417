"""Parsers of the training-quality options (issue 22): loss, resampling, learning-rate schedules.

Pure and torch-free, so that :mod:`fedflm.config` validates them on construction and the
training code (:mod:`fedflm.train.losses`, :mod:`fedflm.train.schedule`) reads the same
parsed form. Every parser raises :class:`~fedflm.errors.ConfigError` naming the bad value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fedflm.errors import ConfigError

__all__ = ["AMPLIFICATION_THREAT_MODEL", "LEAKAGE_MODES", "LONG_TEXT", "LR_WITHIN", "RESAMPLE", "SELECT_METRICS", "LossSpec", "ScheduleSpec", "SlidingSpec",
           "parse_augment", "parse_long_text", "parse_loss", "parse_schedule"]

RESAMPLE = ("none", "oversample", "undersample")
#: --on-leakage: what an owner does with records shared with the server's held-out set (fedflm/data/leakage.py)
LEAKAGE_MODES = ("off", "warn", "exclude", "fail")
#: --long-text: how a text longer than max_length is cut, or ``sliding:WINDOW:STRIDE[:mean|max]`` (parse_long_text)
LONG_TEXT = ("truncate", "head-tail", "sliding:WINDOW:STRIDE[:mean|max]")
LR_WITHIN = ("constant", "linear", "cosine")
#: metrics a run can select its best round on (higher is better, but ``loss``)
SELECT_METRICS = ("macro_f1", "accuracy", "macro_recall", "loss")
#: issue 24, --amplify-by-sampling: who the amplified epsilon holds against (fedflm.privacy.amplification)
AMPLIFICATION_THREAT_MODEL = (
    "valid ONLY against an adversary who sees the released global models alone (not individual updates, not who "
    "was sampled), with the server trusted to sample each owner in each round with probability p from a secret "
    "CSPRNG; against the server, or anyone who knows the sampling pattern, only the unamplified epsilon holds "
    "(the one every owner's ledger keeps and enforces)")


@dataclass(frozen=True)
class LossSpec:
    """A parsed ``--loss`` value: its kind and parameter (weighted power, focal gamma, gce q) and, for
    ``weighted``, the floor on each class weight as a fraction of the largest (0: no floor)."""

    kind: str
    param: float = 0.0
    floor: float = 0.0


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


_LOSS_FORMS = "ce, weighted[:POWER[:FLOOR]], focal:GAMMA or gce:Q"


def parse_loss(text: str) -> LossSpec:
    """``ce`` | ``weighted[:POWER[:FLOOR]]`` (POWER in [0, 2], default 1; FLOOR in [0, 1], default 0) |
    ``focal:GAMMA`` ([0, 10]) | ``gce:Q`` ((0, 1])."""
    head, floor = text, 0.0
    if isinstance(text, str) and text.startswith("weighted:") and text.count(":") == 2:
        head, _, raw = text.rpartition(":")
        if not raw or head.endswith(":"):
            raise ConfigError(f"loss must be {_LOSS_FORMS}, got {text!r}")
        floor = _number("weighted loss floor", raw, 0.0, 1.0)
    return LossSpec(*_parse(head, _LOSSES, "loss", _LOSS_FORMS), floor=floor)


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



@dataclass(frozen=True)
class SlidingSpec:
    """A parsed ``--long-text sliding:WINDOW:STRIDE[:POOL]``: windows of WINDOW tokens (the document's first
    and last token included) every STRIDE inner tokens; evaluation pools a document's window logits (POOL)."""

    window: int
    stride: int
    pool: str = "mean"


def parse_long_text(text: str, max_length: int | None = None) -> SlidingSpec | None:
    """None for ``truncate`` and ``head-tail``; the :class:`SlidingSpec` of ``sliding:WINDOW:STRIDE[:mean|max]``
    (3 <= WINDOW <= ``max_length``, the document budget; 1 <= STRIDE <= WINDOW - 2)."""
    if text in ("truncate", "head-tail"):
        return None
    shown = f"long_text must be truncate, head-tail or sliding:WINDOW:STRIDE[:mean|max], got {text!r}"
    parts = text.split(":") if isinstance(text, str) else []
    if not (parts[:1] == ["sliding"] and len(parts) in (3, 4) and all(p.isdigit() for p in parts[1:3])
            and parts[3:] in ([], ["mean"], ["max"])):
        raise ConfigError(shown)
    window, stride = int(parts[1]), int(parts[2])
    if not (3 <= window and 1 <= stride <= window - 2):
        raise ConfigError(f"long_text {text!r}: sliding windows need WINDOW >= 3 and 1 <= STRIDE <= WINDOW - 2")
    if max_length is not None and window > max_length:
        raise ConfigError(f"long_text {text!r}: WINDOW must be <= max_length {max_length} (with sliding windows "
                          "max_length is the document budget, WINDOW the encoder's input)")
    return SlidingSpec(window, stride, parts[3] if len(parts) == 4 else "mean")

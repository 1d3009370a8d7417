"""Privacy accounting through Opacus' accountants.

An owner's privacy history is a list of :class:`HistoryEntry` -- one
``(noise_multiplier, sample_rate, steps)`` triple per round of DP-SGD with a
Poisson-subsampled Gaussian mechanism. Epsilon is always computed from the
*whole* history, so composition across rounds and runs is exact for the
chosen accountant (never a sum of per-round epsilons).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from opacus.accountants import IAccountant, PRVAccountant, RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis

from fedflm.errors import ConfigError

__all__ = [
    "ACCOUNTANTS",
    "HistoryEntry",
    "check_delta",
    "epsilon",
    "make_accountant",
    "unit_rdp",
]


class HistoryEntry(NamedTuple):
    """One homogeneous block of DP-SGD steps (a round, in fedflm)."""

    noise_multiplier: float
    sample_rate: float
    steps: int


def _quiet_epsilon(acc: IAccountant, delta: float) -> float:
    with warnings.catch_warnings():
        # Opacus warns when the optimal RDP order is at the edge of its default
        # alphas (also inside PRV's domain sizing); the bound it returns is
        # still valid, only less tight.
        warnings.filterwarnings("ignore", message="Optimal order is the")
        return float(acc.get_epsilon(delta=delta))


@lru_cache(maxsize=4096)
def unit_rdp(noise_multiplier: float, sample_rate: float) -> tuple[float, ...]:
    """RDP of ONE step at Opacus' default orders (RDP composes linearly in steps)."""
    return tuple(rdp_analysis.compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=1,
                                          orders=RDPAccountant.DEFAULT_ALPHAS))


def _rdp_epsilon(acc: IAccountant, delta: float) -> float:
    """Same as ``RDPAccountant.get_epsilon`` (Opacus' analysis and orders), with
    the one-step RDP of each mechanism cached: calibration evaluates the same
    mechanism at many step counts."""
    rdp = sum(np.asarray(unit_rdp(sigma, q)) * steps for sigma, q, steps in acc.history)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the")
        eps, _ = rdp_analysis.get_privacy_spent(orders=RDPAccountant.DEFAULT_ALPHAS, rdp=rdp, delta=delta)
    return float(eps)


# Registry: name -> (accountant factory, epsilon function). Refuses unknown names.
ACCOUNTANTS: dict[str, tuple[Callable[[], IAccountant], Callable[[IAccountant, float], float]]] = {
    "rdp": (RDPAccountant, _rdp_epsilon),
    "prv": (PRVAccountant, _quiet_epsilon),
}


def _lookup(name: str) -> tuple[Callable[[], IAccountant], Callable[[IAccountant, float], float]]:
    try:
        return ACCOUNTANTS[name]
    except KeyError:
        known = ", ".join(sorted(ACCOUNTANTS))
        raise ConfigError(f"unknown accountant {name!r} (known: {known})") from None


def check_delta(delta: float) -> float:
    """Return ``delta`` if it lies in (0, 1), else raise :class:`ConfigError`."""
    if not (isinstance(delta, (int, float)) and 0.0 < float(delta) < 1.0):
        raise ConfigError(f"delta must be in (0, 1), got {delta!r}")
    return float(delta)


def _check_entry(entry: Sequence[float]) -> HistoryEntry:
    if len(entry) != 3:
        raise ConfigError(f"history entry must be (noise_multiplier, sample_rate, steps), got {entry!r}")
    sigma, q, steps = entry
    if not (math.isfinite(sigma) and sigma > 0):
        raise ConfigError(f"noise_multiplier must be > 0, got {sigma!r}")
    if not (0.0 < q <= 1.0):
        raise ConfigError(f"sample_rate must be in (0, 1], got {q!r}")
    if int(steps) != steps or steps < 0:
        raise ConfigError(f"steps must be a non-negative integer, got {steps!r}")
    return HistoryEntry(float(sigma), float(q), int(steps))


def make_accountant(history: Iterable[Sequence[float]], accountant: str = "rdp") -> IAccountant:
    """Build an Opacus accountant of kind ``accountant`` primed with ``history``."""
    factory, _ = _lookup(accountant)
    acc = factory()
    acc.history = _merge(map(_check_entry, history))
    return acc


def _merge(entries: Iterable[HistoryEntry]) -> list[tuple[float, float, int]]:
    """Merge blocks of the same mechanism (same sigma and q) into one block.

    Composition is commutative and k steps followed by m steps of the same
    mechanism are k + m steps of it, so this is exact; it keeps PRV fast
    (one self-composition instead of one convolution per round).
    """
    steps: dict[tuple[float, float], int] = {}
    for e in entries:
        if e.steps > 0:
            key = (e.noise_multiplier, e.sample_rate)
            steps[key] = steps.get(key, 0) + e.steps
    return [(sigma, q, n) for (sigma, q), n in steps.items()]


def epsilon(history: Iterable[Sequence[float]], delta: float, accountant: str = "rdp") -> float:
    """Cumulative epsilon of ``history`` at ``delta`` under ``accountant``.

    An empty history (or one with zero steps) has spent nothing: 0.0.
    """
    check_delta(delta)
    acc = make_accountant(history, accountant)
    if not acc.history:
        return 0.0
    _, eps_fn = _lookup(accountant)
    return eps_fn(acc, delta)

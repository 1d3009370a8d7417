"""Epsilon lower bound from white-box per-step observations, composed over the steps.

In a white-box audit of DP-SGD the auditor sees every step's update (Nasr,
Hayes, Steinke, Balle, Tramèr, Jagielski, Carlini, Terzis, "Tight Auditing of
Differentially Private Machine Learning", USENIX Security 2023, who compose
per-step observations instead of needing thousands of training runs). With
Dirac gradient canaries the auditor reads, for every canary and every step,
one number ``y``; for a correct DP-SGD step the ``y`` of one canary are
independent and identically distributed across steps (Poisson sampling and
noise are drawn afresh at every step, and a gradient canary does not depend
on the model).

Thresholding each ``y`` at ``tau`` turns every step into a binary channel that
answers 1 with probability ``p1`` (canary included) or ``p0`` (excluded). The
``T``-step mechanism is at least as leaky as ``T`` independent uses of that
channel (post-processing), and a channel with a smaller ``p1`` and a larger
``p0`` is a post-processing of it. So with Clopper-Pearson limits
``p1_low <= p1`` and ``p0_high >= p0`` (jointly at the stated confidence), the
exact epsilon at ``delta`` of ``T`` uses of the channel ``(p1_low, p0_high)``
is a lower bound on the mechanism's epsilon. The number of ones is a
sufficient statistic, so::

    delta(eps) = sum_k max(0, Binom(T, p1)[k] - e^eps Binom(T, p0)[k])

Several thresholds may be tried; each is paid for with a Bonferroni
correction. Thresholds must not be chosen by looking at the inclusion bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["ComposedResult", "binary_composition_epsilon", "composed_lower_bound"]


def binary_composition_epsilon(p1: float, p0: float, steps: int, delta: float) -> float:
    """Exact epsilon at ``delta`` of ``steps`` independent uses of the channel Bern(p1) vs Bern(p0)."""
    if not (0 <= p0 <= 1 and 0 <= p1 <= 1) or steps < 1 or not 0 < delta < 1:
        raise ValueError(f"need p0, p1 in [0, 1], steps >= 1, delta in (0, 1); got {p0}, {p1}, {steps}, {delta}")
    if p1 <= p0:
        return 0.0
    k = np.arange(steps + 1)
    pm1, pm0 = stats.binom.pmf(k, steps, p1), stats.binom.pmf(k, steps, p0)

    def hockey_stick(eps: float) -> float:
        return float(np.sum(np.maximum(0.0, pm1 - np.exp(eps) * pm0)))

    if hockey_stick(0.0) <= delta:
        return 0.0
    lo, hi = 0.0, 1.0
    while hockey_stick(hi) > delta:
        lo, hi = hi, 2 * hi
        if hi > 1e4:
            return lo
    while hi - lo > 1e-6 * max(1.0, lo):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hockey_stick(mid) > delta else (lo, mid)
    return lo


def _cp_lower(hits: int, n: int, alpha: float) -> float:
    return 0.0 if hits == 0 else float(stats.beta.ppf(alpha, hits, n - hits + 1))


def _cp_upper(hits: int, n: int, alpha: float) -> float:
    return 1.0 if hits == n else float(stats.beta.ppf(1 - alpha, hits + 1, n - hits))


@dataclass(frozen=True)
class ComposedResult:
    """The bound, the threshold that gave it and the counts it rests on."""

    epsilon_lower_bound: float
    confidence: float
    delta: float
    steps: int
    threshold: float
    hits_in: int
    trials_in: int
    hits_out: int
    trials_out: int
    candidates: int

    def describe(self) -> str:
        return (f"eps >= {self.epsilon_lower_bound:.3f} with {100 * self.confidence:g} % confidence "
                f"(delta={self.delta:g}; per-step threshold {self.threshold:.3g}: {self.hits_in}/{self.trials_in} "
                f"included vs {self.hits_out}/{self.trials_out} excluded observations above it, composed over "
                f"{self.steps} steps; best of {self.candidates} thresholds)")


def composed_lower_bound(y_in: np.ndarray, y_out: np.ndarray, steps: int, thresholds: Sequence[float], *,
                         delta: float, confidence: float = 0.95) -> ComposedResult:
    """Best bound over ``thresholds`` from per-step observations of included (``y_in``) and
    excluded (``y_out``) canaries, each observation one step of one canary."""
    if not thresholds:
        raise ValueError("need at least one threshold")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    y_in, y_out = np.ravel(y_in), np.ravel(y_out)
    alpha = (1 - confidence) / len(thresholds) / 2  # Bonferroni over thresholds and the two limits
    best: ComposedResult | None = None
    for tau in thresholds:
        h1, h0 = int((y_in > tau).sum()), int((y_out > tau).sum())
        p1 = _cp_lower(h1, y_in.size, alpha) if y_in.size else 0.0
        p0 = _cp_upper(h0, y_out.size, alpha) if y_out.size else 1.0
        eps = binary_composition_epsilon(p1, p0, steps, delta)
        if best is None or eps > best.epsilon_lower_bound:
            best = ComposedResult(eps, confidence, delta, steps, float(tau), h1, y_in.size, h0, y_out.size,
                                  len(thresholds))
    assert best is not None
    return best

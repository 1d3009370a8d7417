"""Epsilon lower bounds from one training run (Steinke, Nasr & Jagielski 2023).

"Privacy Auditing with One (1) Training Run", NeurIPS 2023, arXiv 2305.08846.

Setting: ``m`` canaries, each included in the training data independently
with probability 1/2. After training, the auditor scores every canary with a
membership signal, guesses "in" for the ``k_pos`` highest scores and "out"
for the ``k_neg`` lowest, and abstains on the rest: ``r = k_pos + k_neg``
guesses of which ``v`` are correct.

If training is (eps, delta)-DP, the paper's Theorem 5.2 bounds the number of
correct guesses W by randomized response (their Proposition 5.7 and
Algorithm 2, in the exact binomial-tail form of their appendix code)::

    P[W >= v] <= P[Binom(r, p) >= v] + 2 m delta max_{i=1..v} P[v-i <= Binom(r, p) < v] / i,
    p = e^eps / (1 + e^eps).

The right side is a p-value for the hypothesis "training is (eps, delta)-DP".
The lower bound at confidence ``1 - beta`` is the largest eps whose p-value
is below ``beta``: with probability at least ``1 - beta`` over the canaries'
coin flips, the true epsilon is at least that large. The bound is valid only
if the canary set, the score and ``(k_pos, k_neg)`` are fixed before looking
at the inclusion bits; :func:`audit_scores` takes several candidate ``k`` and
pays for it with a Bonferroni correction.

Cross-checked against Google DeepMind's jax_privacy (``CanaryScoreAuditor.epsilon_one_run``):
its published test values are reproduced to 1e-6 in ``tests/audit/test_audit_one_run.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

__all__ = ["GUESS_SIDES", "OneRunResult", "audit_scores", "count_correct", "default_candidates",
           "epsilon_lower_bound", "guesses_from_scores", "p_value"]


def _check_counts(m: int, r: int, v: int) -> None:
    if not (0 <= v <= r <= m):
        raise ValueError(f"need 0 <= v <= r <= m, got m={m}, r={r}, v={v}")


def p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Upper bound on P[>= v of r guesses correct] for an (epsilon, delta)-DP run.

    ``m`` canaries in all, ``r`` guesses, ``v`` correct.
    """
    _check_counts(m, r, v)
    if epsilon < 0 or not 0 <= delta <= 1:
        raise ValueError(f"need epsilon >= 0 and delta in [0, 1], got {epsilon}, {delta}")
    p = float(special.expit(epsilon))  # accuracy of eps-DP randomized response
    tail = float(stats.binom.sf(v - 1, r, p))  # P[Binom(r, p) >= v]
    if v == 0 or delta == 0:
        return min(tail, 1.0)
    below = stats.binom.pmf(np.arange(v - 1, -1, -1), r, p)  # P[Binom = v-1], ..., P[Binom = 0]
    alpha = float(np.max(np.cumsum(below) / np.arange(1, v + 1)))
    return min(tail + 2 * m * delta * alpha, 1.0)


def epsilon_lower_bound(m: int, r: int, v: int, delta: float, confidence: float = 0.95,
                        tol: float = 1e-7, start: float = 0.0) -> float:
    """Largest epsilon rejected at ``confidence`` (0.0 when none is), to ``tol`` relative, from below.

    Root of the p-value, which increases with epsilon (Brent's method). ``start``: where the search
    begins; the result is ``max(start, bound)``, so pass 0 or an epsilon already rejected or held
    (:func:`audit_scores` passes the best bound so far).
    """
    _check_counts(m, r, v)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")

    def margin(eps: float) -> float:  # > 0 exactly when eps is rejected
        return 1 - confidence - p_value(m, r, v, eps, delta)

    if margin(start) <= 0:
        return start
    lo, hi = start, max(1.0, 2 * start)
    while margin(hi) > 0:
        lo, hi = hi, 2 * hi
        if hi > 1e4:  # only reached with v = r and tiny beta; a bound this large means "no privacy"
            return lo
    xtol = tol * max(1.0, lo)
    root = float(optimize.brentq(margin, lo, hi, xtol=xtol))
    return max(lo, root - 2 * xtol)  # brentq is within xtol of the root: step below it, where eps is rejected


def pure_dp_ceiling(r: int, v: int, confidence: float) -> float:
    """The bound at delta = 0 in closed form: logit of the one-sided Clopper-Pearson lower limit of v/r.

    The p-value only grows with delta, so this is an upper limit of the bound at any delta
    (:func:`audit_scores` uses it to skip candidates that cannot win).
    """
    if v == 0:
        return 0.0
    return max(0.0, float(special.logit(stats.beta.ppf(1 - confidence, v, r - v + 1))))


def guesses_from_scores(scores: Sequence[float], k_pos: int, k_neg: int) -> np.ndarray:
    """+1 ("included") for the ``k_pos`` highest scores, -1 for the ``k_neg`` lowest, else 0.

    Higher score = more likely a member (e.g. minus the loss). Ties are broken
    by position, which is independent of the inclusion bits.
    """
    s = np.asarray(scores, dtype=float)
    if k_pos < 0 or k_neg < 0 or k_pos + k_neg > len(s):
        raise ValueError(f"need k_pos, k_neg >= 0 and k_pos + k_neg <= {len(s)}, got {k_pos}, {k_neg}")
    order = np.argsort(-s, kind="stable")
    guesses = np.zeros(len(s), dtype=int)
    guesses[order[:k_pos]] = 1
    if k_neg:
        guesses[order[len(s) - k_neg:]] = -1
    return guesses


def count_correct(guesses: np.ndarray, included: Sequence[bool]) -> tuple[int, int]:
    """``(r, v)``: number of non-abstaining guesses and of correct ones."""
    truth = np.where(np.asarray(included, dtype=bool), 1, -1)
    made = guesses != 0
    return int(made.sum()), int((guesses[made] == truth[made]).sum())


@dataclass(frozen=True)
class OneRunResult:
    """The bound and what it rests on."""

    epsilon_lower_bound: float
    confidence: float
    delta: float
    m: int
    r: int
    v: int
    k_pos: int
    k_neg: int
    candidates: int  # number of (k_pos, k_neg) tried (Bonferroni factor)

    @property
    def accuracy(self) -> float:
        return self.v / self.r if self.r else math.nan

    def describe(self) -> str:
        return (f"eps >= {self.epsilon_lower_bound:.3f} with {100 * self.confidence:g} % confidence "
                f"(delta={self.delta:g}; {self.v}/{self.r} guesses correct on m={self.m} canaries, "
                f"k+={self.k_pos}, k-={self.k_neg}, best of {self.candidates})")


GUESS_SIDES = ("both", "out", "in")


def default_candidates(m: int, side: str = "both") -> list[tuple[int, int]]:
    """Guess counts ``(k_pos, k_neg)``: 5 %, 10 %, 20 % and 40 % of the canaries.

    ``side`` "both": that many "in" and "out" guesses each; "out": only "out" guesses for the lowest
    scores (abstain on the rest; an included canary is trained on, so a very low score is strong
    evidence of exclusion, while a high one may just be a canary the model agrees with anyway);
    "in": only "in" guesses for the highest scores.
    """
    if side not in GUESS_SIDES:
        raise ValueError(f"side must be one of {', '.join(GUESS_SIDES)}, got {side!r}")
    ks = sorted({max(1, int(round(m * f))) for f in (0.05, 0.1, 0.2, 0.4)})
    if side == "out":
        return [(0, k) for k in ks if k <= m]
    if side == "in":
        return [(k, 0) for k in ks if k <= m]
    return [(k, k) for k in ks if 2 * k <= m]


def audit_scores(scores: Sequence[float], included: Sequence[bool], *, delta: float, confidence: float = 0.95,
                 candidates: Sequence[tuple[int, int]] | None = None) -> OneRunResult:
    """Best lower bound over the candidate ``(k_pos, k_neg)``, Bonferroni-corrected.

    Each candidate is evaluated at confidence ``1 - (1 - confidence) / n``, so
    the reported bound holds at ``confidence`` overall.
    """
    m = len(scores)
    if len(included) != m:
        raise ValueError(f"scores and included differ in length: {m} vs {len(included)}")
    cands = list(candidates) if candidates is not None else default_candidates(m)
    if not cands:
        raise ValueError(f"no (k_pos, k_neg) candidates for m={m}")
    per_test = 1 - (1 - confidence) / len(cands)
    counted = [(k, count_correct(guesses_from_scores(scores, *k), included)) for k in cands]
    ceilings = [pure_dp_ceiling(r, v, per_test) for _, (r, v) in counted]
    best: OneRunResult | None = None
    for i in np.argsort(-np.asarray(ceilings), kind="stable"):
        (k_pos, k_neg), (r, v) = counted[i]
        if best is not None and ceilings[i] <= best.epsilon_lower_bound:
            break  # exact: no later candidate can beat the best (their ceilings are lower)
        floor = 0.0 if best is None else best.epsilon_lower_bound
        eps = epsilon_lower_bound(m, r, v, delta, per_test, start=floor)  # = floor if it cannot win
        if best is None or eps > best.epsilon_lower_bound:
            best = OneRunResult(eps, confidence, delta, m, r, v, k_pos, k_neg, len(cands))
    assert best is not None
    return best

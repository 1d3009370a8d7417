"""White-box audit of the owner's DP-SGD step with Dirac gradient canaries.

For ``runs`` independent repetitions of the owner's whole history of steps
(every ledger entry: sigma, q, steps), ``m`` Dirac canaries are each included
with probability 1/2 and every step's update is read at every canary's
coordinate (:mod:`~fedflm.audit.mechanism.steps`). Three checks, each at a
share of ``1 - confidence`` (Bonferroni, so that a correct step fails the
audit with probability at most ``1 - confidence``):

* **one-run bound** (Steinke, Nasr & Jagielski 2023): every canary of every
  run is scored by the log-likelihood ratio of its observations under the
  claimed mechanism; "in" guesses for the top scores; no independence
  between canaries assumed;
* **composed bound** (Nasr et al. 2023): per-step observations above a
  threshold, Clopper-Pearson, composed exactly over the steps
  (:mod:`~fedflm.audit.bounds.composed`); rests on the steps of one canary
  being independent, which a correct step guarantees by construction;
* **sampler check**: the batch sizes and each example's appearances against Poisson sampling.

The audit fails when a bound exceeds the claimed epsilon or the sampler is
not Poisson. The repetitions never touch the owner's data, so they are cheap
(no forward or backward pass): that is what makes the many-run statistics
affordable at the owner's real sigma, q and steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from fedflm.audit.bounds.composed import ComposedResult, composed_lower_bound
from fedflm.audit.bounds.one_run import OneRunResult, audit_scores
from fedflm.audit.mechanism.canaries import make_dirac_canaries, rng_for
from fedflm.audit.mechanism.sampler import BatchDraws, SamplerCheck, poisson_batch_check
from fedflm.audit.mechanism.config import MechanismClaim, MechanismConfig
from fedflm.audit.mechanism.steps import BlockObservation, Privatize, run_block
from fedflm.privacy.dp import make_private

SHARE_BOUND, SHARE_SAMPLER = 0.45, 0.10  # of 1 - confidence: one-run, composed (0.45 each), sampler
THRESHOLDS_IN_SIGMA = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)  # per-step thresholds: 1/2 + c * sigma (units of C)


@dataclass(frozen=True)
class MechanismResult:
    """The bounds, the sampler check and the claim they test."""

    claim: MechanismClaim
    one_run: OneRunResult
    composed: ComposedResult
    sampler: SamplerCheck
    canaries_per_run: int
    runs: int
    trainable_coordinates: int
    wall_time_s: float

    @property
    def lower_bound(self) -> float:
        """The larger of the two bounds (each at its share; together at the audit's confidence)."""
        return max(self.one_run.epsilon_lower_bound, self.composed.epsilon_lower_bound)

    @property
    def violated(self) -> bool:
        return self.lower_bound > self.claim.epsilon or not self.sampler.passed

    def verdict(self) -> str:
        if self.lower_bound > self.claim.epsilon:
            return (f"FAIL: the DP-SGD step leaks more than claimed (epsilon >= {self.lower_bound:.3f} > "
                    f"claimed {self.claim.epsilon:.3f})")
        if not self.sampler.passed:
            return "FAIL: the DP-SGD step does not sample batches as Poisson sampling would; the claim assumes it"
        return (f"PASS: lower bound {self.lower_bound:.3f} <= claimed {self.claim.epsilon:.3f} "
                f"({100 * self.lower_bound / self.claim.epsilon:.0f} % of the claim)")

    def describe(self) -> str:
        return "\n".join([self.verdict(), f"one-run: {self.one_run.describe()}",
                          f"composed: {self.composed.describe()}", self.sampler.describe(),
                          f"{self.runs} run(s) x {self.canaries_per_run} Dirac canaries x {self.claim.steps} steps "
                          f"on {self.trainable_coordinates} trainable coordinates; {self.wall_time_s:.1f} s"])

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        d.update(lower_bound=self.lower_bound, violated=self.violated, verdict=self.verdict(),
                 sampler_passed=self.sampler.passed)
        d["sampler"]["p_value"] = self.sampler.p_value
        return d


def llr_scores(observations: Sequence[BlockObservation]) -> np.ndarray:
    """Per-canary log-likelihood ratio "included" vs "excluded" under the claimed mechanism.

    One step, in units of C: excluded ``y ~ N(0, s^2)``; included
    ``y ~ (1 - q) N(0, s^2) + q N(1, s^2)``.
    """
    total = 0.0
    for ob in observations:
        s, q = ob.block.sigma, ob.block.q
        a = (ob.y.astype(np.float64) - 0.5) / s**2
        per_step = np.logaddexp(math.log1p(-q), math.log(q) + a) if q < 1 else a
        total = total + per_step.sum(axis=1)
    return np.asarray(total)


def _candidates(m: int) -> list[tuple[int, int]]:
    """"In" guesses only, for the top 0.2-10 % of scores, and one symmetric choice."""
    ks = sorted({max(1, round(m * f)) for f in (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)})
    return [(k, 0) for k in ks] + ([(round(m * 0.1),) * 2] if m >= 20 else [])


def _composed(runs: list[list[BlockObservation]], included: list[np.ndarray], delta: float,
              confidence: float) -> ComposedResult:
    """Composed bound on the (sigma, q) with the most steps (ignoring other steps is post-processing)."""
    steps: dict[tuple[float, float], int] = {}
    for ob in runs[0]:
        steps[(ob.block.sigma, ob.block.q)] = steps.get((ob.block.sigma, ob.block.q), 0) + ob.block.steps
    key = max(steps, key=lambda k: steps[k])
    y_in = [ob.y[inc].ravel() for obs, inc in zip(runs, included) for ob in obs if (ob.block.sigma, ob.block.q) == key]
    y_out = [ob.y[~inc].ravel() for obs, inc in zip(runs, included) for ob in obs
             if (ob.block.sigma, ob.block.q) == key]
    thresholds = [0.5 + c * key[0] for c in THRESHOLDS_IN_SIGMA]
    return composed_lower_bound(np.concatenate(y_in), np.concatenate(y_out), steps[key], thresholds,
                                delta=delta, confidence=confidence)


def _noise_seed(rng: np.random.Generator, config: MechanismConfig, claim: MechanismClaim) -> int | None:
    """A seed for one block's noise and batches when the audit is seeded and the claim allows one (not secure mode)."""
    if config.seed is None or claim.secure_mode:
        return None
    return int(rng.integers(2**62))


def audit_mechanism(model: nn.Module, claim: MechanismClaim, config: MechanismConfig | None = None,
                    privatize: Privatize = make_private) -> MechanismResult:
    """Run the owner's steps ``config.runs`` times with Dirac canaries and test the claim."""
    config = config or MechanismConfig()
    t0 = time.perf_counter()
    rng = rng_for(config.seed)
    shapes = [p.shape for p in model.parameters() if p.requires_grad]
    coords = sum(int(np.prod(s)) if len(s) else 1 for s in shapes)
    m = min(config.canaries, coords)
    runs, included = [], []
    for _ in range(config.runs):
        canaries = make_dirac_canaries(shapes, m, rng, config.canary_norm)
        runs.append([run_block(model, b, canaries, max_grad_norm=claim.max_grad_norm, batch_size=claim.batch_size,
                               secure_mode=claim.secure_mode, privatize=privatize,
                               noise_seed=_noise_seed(rng, config, claim)) for b in claim.history])
        included.append(canaries.included)
    beta = 1 - config.confidence
    scores = np.concatenate([llr_scores(obs) for obs in runs])
    inc = np.concatenate(included)
    one_run = audit_scores(scores, inc, delta=claim.delta, confidence=1 - SHARE_BOUND * beta,
                           candidates=_candidates(len(scores)))
    composed = _composed(runs, included, claim.delta, 1 - SHARE_BOUND * beta)
    draws = [BatchDraws(ob.slots, ob.block.q, ob.batch_sizes, ob.appearances) for obs in runs for ob in obs]
    sampler = poisson_batch_check(draws, SHARE_SAMPLER * beta, rng)
    return MechanismResult(claim, one_run, composed, sampler, m, config.runs, coords, time.perf_counter() - t0)

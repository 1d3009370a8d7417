"""The prototype round under a robust rule: a per-owner plausibility screen of the class sums (issue 21).

Round 1 of a prototype run (``fedflm.privacy.prototypes``) is not a model update: each owner sends
its per-class sums of the frozen encoder's sentence vectors (noisy under DP), and the server sets
the head from their mean. Per-coordinate rules (median, trimmed mean) fail there under label skew:
for most classes most honest owners hold no records, so their row is pure noise, and the few owners
that do hold the class are outvoted or trimmed away; an attacker holding many of a class's records
drags that row wherever it likes. Krum's distances are dominated by how many records an owner has.

The screen uses what every honest release shares whatever its labels: all sentence vectors of an
encoder lie in one cone (they share a common direction, the encoder's mean vector: an owner's score
below is about 0.46 x its record count on Banking77's training vectors with MiniLM), so an honest
owner's **total** over its class rows, ``T_i = sum_c S_i[c] = n_i * mean_i + N(0, classes * sigma^2 I)``,
points along it for any label mix. The reference is the coordinate-wise median of the owners' totals
(robust while fewer than half the owners are wrong; taken again from the kept owners once the
implausible ones are out); an owner whose total has a projection <= 0 on the reference's direction
sends sums that no set of sentence vectors can produce, up to its noise, and is **rejected whole**
(in this round and, ``RobustAvg``, in every later round of the run).
The threshold 0 is set by reasoning, not tuned: an honest owner falls below it only when its noise
along one direction (std ``sigma * sqrt(classes)``) outweighs its signal (``0.46 * n_i`` above), i.e. when its release
carries next to no signal, so rejecting it costs nothing; a sign-flipped owner (``-T_i``) falls
below it by the same margin an honest one clears it.

The same score bounds each kept owner's weight: an owner scoring above the kept owners' median score
has its sums scaled down to that median (**clipped**, the median as the bound: no parameter). An
honest owner's score grows with its record count, so this only caps how much a large owner counts, while an
owner that scaled its sums by K (``scale:K``) counts as one median owner. The clipped sums of the
kept owners are then combined with the weights the run uses without a robust rule
(``RobustAvg.aggregate_prototypes``).

What it does not catch (said in README "Aggregation"): an owner whose rows are plausible sentence
sums for the wrong classes (a label flip, or rows swapped between classes) keeps a positive total.

Post-processing of the owners' releases: no extra release, no privacy cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScreenResult", "screen_prototypes"]


@dataclass(frozen=True)
class ScreenResult:
    """Per owner: the factor its sums are multiplied by (0 = rejected, < 1 = clipped), its action,
    its update norm and its score (its total's projection on the reference direction)."""

    factors: np.ndarray
    actions: tuple[str, ...]
    norms: tuple[float, ...]
    scores: np.ndarray

    def combine(self, deltas: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The weighted mean of the kept owners' scaled ``deltas`` (``weights``: uniform when None)."""
        w = np.ones(len(deltas)) if weights is None else np.asarray(weights, np.float64)
        kept = self.factors > 0
        scaled = np.asarray(deltas, np.float64) * (w * self.factors)[:, None, None]
        return scaled[kept].sum(axis=0) / w[kept].sum()


def screen_prototypes(deltas: np.ndarray) -> ScreenResult:
    """Screen the owners' prototype updates ``deltas`` (``[owners, classes, hidden]``: each owner's
    head weight as sent minus the head the round started from).

    Two passes: the reference from all owners rejects the implausible ones; the reference and the
    clip bound are then taken again from the kept owners alone (so owners rejected in the first pass
    change nothing), and a kept owner scoring <= 0 against it is rejected too. If no owner scores
    above 0 (no common direction to tell by) every owner is kept, unclipped."""
    deltas = np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 3 or len(deltas) == 0:
        raise ValueError(f"prototype updates must be [owners, classes, hidden], got shape {deltas.shape}")
    totals, everyone = deltas.sum(axis=1), np.ones(len(deltas), dtype=bool)
    norms = tuple(float(np.linalg.norm(d)) for d in deltas)
    first = _scores(totals, everyone) > 0
    scores = _scores(totals, first) if first.any() else np.zeros(len(deltas))
    keep = first & (scores > 0)
    if not keep.any():  # nothing to tell by: everyone counts, as without a robust rule
        return ScreenResult(np.ones(len(deltas)), ("kept",) * len(deltas), norms, scores)
    bound = float(np.median(scores[keep]))
    factors = np.where(keep, np.minimum(1.0, bound / np.where(keep, scores, 1.0)), 0.0)
    actions = tuple("rejected" if f == 0 else "clipped" if f < 1 else "kept" for f in factors)
    return ScreenResult(factors, actions, norms, scores)


def _scores(totals: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Each total's projection on the direction of the coordinate-wise median of the totals ``among``."""
    ref = np.median(totals[among], axis=0)
    return totals @ (ref / max(float(np.linalg.norm(ref)), 1e-300))

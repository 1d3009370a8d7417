"""Robust aggregation of client updates (pure numpy; issue 21).

Every rule takes the clients' update vectors (rows of ``deltas``: each client's adapter minus the
global adapter, flattened) and returns the aggregate update and one action per client:
``kept``, ``clipped`` (norm rule) or ``rejected`` (Krum / Multi-Krum). Median and trimmed mean
are coordinate-wise, so no client is rejected as a whole: their clients are ``kept``.

- ``norm:C``: clip each update to L2 norm C, then average (Sun et al. 2019, "Can you really
  backdoor federated learning?").
- ``median``: coordinate-wise median (Yin et al. 2018).
- ``trimmed:BETA``: coordinate-wise mean after dropping the ``int(BETA * n)`` largest and smallest
  values (Yin et al. 2018; the same cut as Flower's FedTrimmedAvg).
- ``krum:F`` / ``multikrum:F:M``: score each update by the summed squared distance to its
  ``n - F - 2`` nearest others, average the ``M`` best (Krum: M = 1; Blanchard et al. 2017).

Flower ships FedMedian, FedTrimmedAvg, Krum and MultiKrum as whole strategies; here the rules are
one step inside any strategy (the trimmed mean is Flower's ``trim_mean``) (so that FedAdam can step on a robust mean), and they say which
client they dropped. The tests check them against Flower's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from flwr.serverapp.strategy.fedtrimmedavg import trim_mean

from fedflm.config_rules import ROBUST_RULES, parse_spec


@dataclass(frozen=True)
class RobustResult:
    """The aggregate update (one flat vector) and, per client, what the rule did with it."""

    update: np.ndarray
    actions: tuple[str, ...]
    norms: tuple[float, ...]


def clipped_mean(deltas: np.ndarray, c: float) -> RobustResult:
    norms = np.linalg.norm(deltas, axis=1)
    scale = np.minimum(1.0, c / np.maximum(norms, 1e-12))
    actions = tuple("clipped" if n > c else "kept" for n in norms)
    return RobustResult((deltas * scale[:, None]).mean(axis=0), actions, tuple(map(float, norms)))


def median(deltas: np.ndarray) -> RobustResult:
    norms = tuple(map(float, np.linalg.norm(deltas, axis=1)))
    return RobustResult(np.median(deltas, axis=0), ("kept",) * len(deltas), norms)


def trimmed_mean(deltas: np.ndarray, beta: float) -> RobustResult:
    norms = tuple(map(float, np.linalg.norm(deltas, axis=1)))
    return RobustResult(trim_mean(deltas, beta), ("kept",) * len(deltas), norms)  # Flower's FedTrimmedAvg cut


def krum_scores(deltas: np.ndarray, f: int) -> np.ndarray:
    """Each update's summed squared distance to its ``n - f - 2`` nearest other updates."""
    n = len(deltas)
    sq = (deltas * deltas).sum(axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * deltas @ deltas.T, 0.0)
    k = max(n - f - 2, 1)
    nearest = np.sort(dist + np.diag(np.full(n, np.inf)), axis=1)[:, :k]
    return nearest.sum(axis=1)


def multikrum(deltas: np.ndarray, f: int, m: int) -> RobustResult:
    scores = krum_scores(deltas, f)
    chosen = set(np.argsort(scores, kind="stable")[:min(m, len(deltas))].tolist())
    actions = tuple("kept" if i in chosen else "rejected" for i in range(len(deltas)))
    update = deltas[sorted(chosen)].mean(axis=0)
    return RobustResult(update, actions, tuple(map(float, np.linalg.norm(deltas, axis=1))))


def aggregate(rule: str, deltas: np.ndarray) -> RobustResult:
    """Apply ``rule`` (an ``AggConfig.robust`` value other than ``none``) to the rows of ``deltas``."""
    name, args = parse_spec(rule, ROBUST_RULES, "robust")
    deltas = np.asarray(deltas, dtype=np.float64)
    if name == "norm":
        return clipped_mean(deltas, args[0])
    if name == "median":
        return median(deltas)
    if name == "trimmed":
        return trimmed_mean(deltas, args[0])
    if name == "krum":
        return multikrum(deltas, int(args[0]), 1)
    if name == "multikrum":
        return multikrum(deltas, int(args[0]), int(args[1]))
    raise ValueError(f"robust rule {rule!r} aggregates nothing")  # 'none' never reaches here


def flatten(states: list[dict[str, np.ndarray]], ref: dict[str, np.ndarray]) -> np.ndarray:
    """Rows of each state's difference to ``ref``, flattened in ``ref``'s key order."""
    return np.stack([np.concatenate([(np.asarray(s[k], np.float64) - v).ravel() for k, v in ref.items()])
                     for s in states])


def unflatten(vector: np.ndarray, ref: dict[str, np.ndarray]) -> "OrderedDict[str, np.ndarray]":
    """``ref`` plus the flat update ``vector``, each tensor in ``ref``'s shape and dtype."""
    out, at = OrderedDict(), 0
    for k, v in ref.items():
        size = int(np.asarray(v).size)
        out[k] = (np.asarray(v, np.float64) + vector[at:at + size].reshape(np.shape(v))).astype(np.asarray(v).dtype)
        at += size
    return out

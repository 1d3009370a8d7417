"""Poisoning attacks, for EVALUATION ONLY (``--attack``, ``--attackers``; simulation only; issue 21).

A fixed, seeded set of simulated clients (``attackers``) changes what it sends, so that the robust
rules (``--robust``) can be measured against it. A deployed node never attacks: it refuses a run
that asks for one (``fedflm.owner.policy.check_request``), and the ClientApp applies an attack only
to simulated clients. Every run with an attack carries a loud warning in its summary and report,
and an ``ATTACK_SIMULATION`` marker file in its run directory.

- ``signflip``: sends ``global - (local - global)`` (the update, negated).
- ``scale:K``: sends ``global + K * (local - global)``.
- ``noise:S``: sends ``local + N(0, S^2)`` in every coordinate.
- ``labelflip``: trains on labels ``y -> K - 1 - y`` (K classes) and sends the result as is.

The poisoned update is a function of the client's DP output, so the owner's DP accounting is
unchanged (post-processing); labelflip trains under DP-SGD like any client.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from fedflm.config import AggConfig
from fedflm.config_rules import ATTACKS, parse_spec
from fedflm.train.batching import TokenizedDataset

MARKER = "ATTACK_SIMULATION"


def attacker_ids(agg: AggConfig, clients: int, seed: int) -> frozenset[int]:
    """Partition ids of the attacking clients: ``round(attackers * clients)`` of them, fixed by ``seed``."""
    count = int(round(agg.attackers * clients))
    if count == 0:
        return frozenset()
    rng = np.random.default_rng([seed, 21])
    return frozenset(int(i) for i in rng.choice(clients, size=count, replace=False))


def poison(agg: AggConfig, sent: dict[str, np.ndarray], local: dict[str, np.ndarray],
           rng: np.random.Generator) -> "OrderedDict[str, np.ndarray]":
    """What an attacker sends instead of ``local`` (``sent``: the global adapter it received)."""
    kind, args = parse_spec(agg.attack, ATTACKS, "attack")
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for k, w in local.items():
        w = np.asarray(w)
        delta = w.astype(np.float64) - np.asarray(sent[k], np.float64)
        if kind == "signflip":
            new = np.asarray(sent[k], np.float64) - delta
        elif kind == "scale":
            new = np.asarray(sent[k], np.float64) + args[0] * delta
        elif kind == "noise":
            new = w + rng.normal(0.0, args[0], size=w.shape)
        else:  # labelflip poisons the data, not the update; none sends the update as is
            new = w
        out[k] = np.asarray(new, dtype=w.dtype)
    return out


@lru_cache(maxsize=16)
def flipped_labels(data: TokenizedDataset, num_classes: int) -> TokenizedDataset:
    """The same rows with labels ``y -> num_classes - 1 - y`` (kept per dataset, so the cache holds)."""
    out = copy.copy(data)
    out.labels = [num_classes - 1 - y for y in data.labels]
    out._windows = None  # sliding windows carry their record's label: recomputed from the flipped ones
    return out

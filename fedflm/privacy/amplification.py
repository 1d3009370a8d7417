"""Privacy amplification by secret client sampling (issue 24; opt-in: ``--amplify-by-sampling``).

THREAT MODEL -- the amplified figure holds ONLY against an adversary who sees the released
(aggregated) global models and nothing else: not the individual updates, not who was sampled in
which round, not the server's coins. The server that samples is TRUSTED to sample every owner
independently in every round with probability ``p`` from a secret, unpredictable source (fedflm's
server draws each owner's coin from the OS CSPRNG under this flag) and to keep the draws secret.
Against the server itself, or anyone who learns the sampling pattern (``client_metrics.jsonl`` of the
run directory records it), only the UNAMPLIFIED figure holds -- the one every owner's ledger keeps.

The analysis. In every round ``r`` an owner is sampled with probability ``p``; if sampled it runs its
local DP-SGD (``T`` steps of the Poisson-subsampled Gaussian, rate ``q``, noise ``sigma``), else it
contributes nothing. For one record of the owner the round's output is the mixture
``(1 - p) N + p A(D)``, where ``N`` (owner absent) does not depend on the owner's data at all. ``N`` is
not "the owner's data without the record" -- the textbook subsampling theorems (Balle, Barthe &
Gaboardi 2018; Mironov, Talwar & Zhang 2019, which Opacus implements) need that, so Opacus'
subsampled-Gaussian accountant at rate ``p`` would UNDER-count here. What holds for any ``N`` is joint
convexity of ``exp((a - 1) D_a)``:

    eps_round(a) <= log(1 - p + p * exp((a - 1) * T * rho_{q,sigma}(a))) / (a - 1)

with ``rho_{q,sigma}(a)`` the RDP of one DP-SGD step -- Opacus' ``compute_rdp`` -- and equality when
``N`` is disjoint from ``A`` (an adversary who can tell whether the owner took part). The bound is
EX-ANTE: it averages over the coins, so it charges EVERY round of the run, sampled or not; rounds
compose additively in RDP, and Opacus' ``get_privacy_spent`` turns the total into ``(eps, delta)``.
Only the mixture step above is written here: Opacus has no accountant for it. Every round of a run must
run the same mechanism (the owner's one plan), so that an unsampled round is charged what the owner
would have run: the config refuses the flag with a round-1 prototype release (``--proto-fraction 0``).
Limit, stated: a run in which the owner was never sampled leaves no ledger entry and adds nothing here
(its realized participation, as in the unamplified ledger), not the ex-ante charge of its rounds.

Sovereignty: the figure depends on ``p`` and on the number of rounds, both claimed by the server.
A malicious server can claim ``p = 0.01`` and sample an owner in every round. So the owner's ledger,
its cap and its refusals always use the unamplified epsilon; the amplified one is an additional,
labelled number, and an owner's node computes it from a server's claim only when its own policy says
``accept_sampling_amplification`` -- and withholds it when the owner's own participation count is
implausible under the claim (:func:`claim_plausible`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp as rdp_analysis
from scipy.stats import binom

from fedflm.errors import ConfigError
from fedflm.options import AMPLIFICATION_THREAT_MODEL
from fedflm.privacy.accounting import HistoryEntry, check_delta, unit_rdp

__all__ = ["ORDERS", "THREAT_MODEL", "amplified_epsilon", "claim_plausible", "mixture_rdp",
           "owner_amplified_epsilon", "round_rdp"]

#: Opacus' default RDP orders (all > 1).
ORDERS = tuple(float(a) for a in RDPAccountant.DEFAULT_ALPHAS)

THREAT_MODEL = AMPLIFICATION_THREAT_MODEL

#: A claimed rate is implausible when the owner took part this often with probability below this.
PLAUSIBILITY = 1e-3


def _check_rate(client_rate: float) -> float:
    if not (isinstance(client_rate, (int, float)) and 0.0 < client_rate <= 1.0):
        raise ConfigError(f"client sampling rate must be in (0, 1], got {client_rate!r}")
    return float(client_rate)


def round_rdp(entry: Sequence[float]) -> np.ndarray:
    """RDP at :data:`ORDERS` of one round of DP-SGD ``(sigma, q, steps)`` (Opacus' analysis)."""
    sigma, q, steps = HistoryEntry(*entry)
    return np.asarray(unit_rdp(float(sigma), float(q))) * int(steps)  # one step, cached; linear in steps


def mixture_rdp(rdp: np.ndarray, client_rate: float) -> np.ndarray:
    """RDP of the round when the owner takes part with probability ``client_rate`` (module docstring):
    ``log(1 - p + p exp((a-1) rdp)) / (a-1)``, evaluated in log space (no overflow)."""
    p = _check_rate(client_rate)
    a1 = np.asarray(ORDERS) - 1.0
    if p == 1.0:
        return np.asarray(rdp, dtype=float)
    return np.logaddexp(math.log1p(-p), math.log(p) + a1 * np.asarray(rdp, dtype=float)) / a1


def amplified_epsilon(rounds: Iterable[Sequence[float]], client_rate: float, delta: float) -> float:
    """Ex-ante epsilon of ``rounds`` -- one ``(sigma, q, steps)`` per round the owner was ELIGIBLE in,
    sampled or not -- with the owner sampled in each with probability ``client_rate``."""
    total = sum((mixture_rdp(round_rdp(m), client_rate) for m in rounds), np.zeros(len(ORDERS)))
    return _epsilon(total, delta)


def _epsilon(rdp: np.ndarray, delta: float) -> float:
    """Opacus' RDP -> (epsilon, delta) conversion; nothing spent: 0.0."""
    check_delta(delta)
    if not np.any(rdp):
        return 0.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the")
        eps, _ = rdp_analysis.get_privacy_spent(orders=list(ORDERS), rdp=rdp, delta=delta)
    return float(eps)


def _run_rdp(trained: list[dict[str, Any]], rounds: int, client_rate: float) -> np.ndarray:
    """Amplified RDP of one run: each trained round's own mechanism; every other eligible round the
    order-wise maximum of the run's trained mechanisms (what the owner would have run, or more)."""
    own = [round_rdp((e["noise_multiplier"], e["sample_rate"], e["steps"])) for e in trained]
    worst = np.max(own, axis=0)
    return sum((mixture_rdp(r, client_rate) for r in own), mixture_rdp(worst, client_rate) * (rounds - len(own)))


def owner_amplified_epsilon(entries: Sequence[Mapping[str, Any]], client_rate: float,
                            rounds: Mapping[str, int], delta: float) -> float:
    """The owner's amplified epsilon over its whole ledger.

    ``rounds[run_id]``: rounds of that run in which the owner was eligible (at least the rounds it
    trained; more rounds only raise the figure). Runs absent from ``rounds`` ran without secret sampling
    and are charged unamplified, as the ledger does."""
    _check_rate(client_rate)
    by_run: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_run.setdefault(str(e["run_id"]), []).append(dict(e))
    total = np.zeros(len(ORDERS))
    for run_id, trained in by_run.items():
        if run_id in rounds:
            total = total + _run_rdp(trained, max(int(rounds[run_id]), len(trained)), client_rate)
        else:
            total = total + sum(round_rdp((e["noise_multiplier"], e["sample_rate"], e["steps"])) for e in trained)
    return _epsilon(total, delta)


def claim_plausible(participations: int, rounds: int, client_rate: float) -> bool:
    """False when taking part in ``participations`` of ``rounds`` rounds has probability below
    :data:`PLAUSIBILITY` under the claimed rate (a server that samples the owner far more often than it
    says). A True answer proves nothing about the server's honesty: the owner's own check only."""
    _check_rate(client_rate)
    if participations < 0 or rounds < 0 or participations > max(rounds, 0):
        raise ConfigError(f"participations must be in [0, rounds], got {participations} of {rounds}")
    return bool(binom.sf(participations - 1, rounds, client_rate) >= PLAUSIBILITY)

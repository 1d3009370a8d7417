"""Client-level DP accounting for Flower's DifferentialPrivacy*FixedClipping wrappers.

Each round the server releases the average of the ``m`` clipped updates
that arrived (clipping norm ``C``, equal weights) plus Gaussian noise of
standard deviation ``noise_multiplier * C / m`` -- a Gaussian mechanism on the
sum with noise multiplier ``noise_multiplier``, whatever ``m`` is (clients
that drop do not weaken it). Every client takes part in a round independently
with probability ``q`` (Poisson sampling, ``fedflm.fl.dp_server``), so
``rounds`` releases compose like ``rounds`` steps of the Poisson-subsampled
Gaussian at rate ``q`` (the DP-FedAvg analysis of McMahan et al. 2018); a
sampled client that fails only lowers its participation probability, and
the bound is monotone in ``q``. With ``q = 1`` it is the plain Gaussian.
"""

from __future__ import annotations

from fedflm.errors import ConfigError
from fedflm.privacy.accounting import HistoryEntry, epsilon
from fedflm.privacy.calibration import NoisePlan, calibrate

__all__ = ["MECHANISM", "calibrate_client_level", "client_level_epsilon", "client_level_history"]

MECHANISM = "client-gaussian"


def _check_fraction(fraction: float) -> float:
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction of clients sampled per round must be in (0, 1], got {fraction!r}")
    return float(fraction)


def client_level_history(noise_multiplier: float, fraction: float, rounds: int) -> list[HistoryEntry]:
    """One composition block per round (as the ledger records them)."""
    _check_fraction(fraction)
    return [HistoryEntry(noise_multiplier, fraction, 1)] * rounds


def client_level_epsilon(noise_multiplier: float, fraction: float, rounds: int, delta: float,
                         accountant: str = "rdp") -> float:
    """Client-level epsilon after ``rounds`` private aggregations."""
    return epsilon(client_level_history(noise_multiplier, fraction, rounds), delta, accountant)


def calibrate_client_level(target_epsilon: float, delta: float, rounds: int, fraction: float,
                           accountant: str = "rdp") -> NoisePlan:
    """Noise multiplier for the wrapper so that client-level epsilon after the
    last round lies within 1 % below ``target_epsilon``."""
    return calibrate(target_epsilon=target_epsilon, delta=delta, rounds=rounds, steps_per_round=1,
                     sample_rate=_check_fraction(fraction), accountant=accountant)

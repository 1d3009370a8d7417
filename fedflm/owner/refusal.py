"""Typed refusal codes: why a data owner's node did not train.

The node answers a refused round with a Flower ``Error`` whose ``code`` is one
of these values (nothing trained, nothing sent, the ledger unchanged). The
server records the code's name; it never parses the reason text.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Refusal", "refusal_name"]


class Refusal(IntEnum):
    """Why the owner's node refused (values travel in ``Error.code``)."""

    BUDGET = 403  # one more round would pass the owner's epsilon cap
    DP_MODE = 4031  # dp mode not allowed by the owner (none / client need an opt-in)
    DELTA = 4032  # delta above the owner's bound or above 1/(10 n)
    ACCOUNTANT = 4033  # another accountant than the owner's
    ROUNDS = 4034  # more rounds in this run than the owner allows
    NOISE = 4035  # noise multiplier below the owner's minimum
    MODEL = 4036  # model not in the owner's accepted list
    TASK = 4037  # task (dataset name) not in the owner's accepted list
    REPLAY = 4038  # this (run, round) was already trained: refused for this message only
    NO_CAP = 4039  # a deployed node without an epsilon cap never trains
    REQUEST = 4040  # the server's request is malformed
    LEAKAGE = 4041  # records shared with the server's evaluation set, and the run asks to fail on them
    SECAGG = 4042  # the owner requires secure aggregation and the request asks for a plain update


def refusal_name(code: int) -> str | None:
    """``"budget"``, ``"dp_mode"``, ... for a refusal code; None for any other error code."""
    try:
        return Refusal(int(code)).name.lower()
    except ValueError:
        return None

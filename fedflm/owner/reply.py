"""Exactly what leaves a data owner's node after a round (and why it may).

Under DP (``dp`` sample or client) the reply holds:

* ``arrays``: the adapter tensors after local training -- DP-SGD output
  (sample) or clipped and noised by the server (client: the owner's opt-in);
* ``metrics``: ``dp-unit-weight = 1`` (FedAvg weights are uniform: the exact
  number of examples never leaves), ``partition-id`` (a hash of the owner id),
  and under sample-level DP the owner's cumulative ``epsilon`` rounded UP to
  0.01 (coarse: the exact value would reveal the sample rate, hence n);
* ``privacy``: ``owner-id`` and ``ledger-head`` (SHA-256 of the ledger's last
  line, committing to the whole chain); the ledger text itself only when the
  owner sets ``publish-ledger``.

No training loss, no example count, no step count, no timing: the server
chooses the adapter a client starts from, so an exact loss would be a
membership test that no epsilon accounts for. With ``dp = none`` (an explicit
opt-in: no guarantee at all) the exact train loss and example count are sent,
as in a non-private simulation.

With secure aggregation (``--secagg``, fedflm/fl/secagg_client.py) the adapter
tensors never leave in the clear: Flower's SecAgg+ mod sends this round's change
of the adapter, quantised and masked, so that the server learns only the sum over
the round's owners. The plain ``metrics`` then carry no number computed from the
owner's own update or data either: no train loss and no example count, even with
``dp = none`` (every owner weighs 1 in the secure sum).
"""

from __future__ import annotations

import math
from typing import Any

from fedflm.privacy.federation import PrivacyOutcome

__all__ = ["EPSILON_STEP", "coarse_epsilon", "reply_metrics", "reply_privacy"]

EPSILON_STEP = 0.01


def coarse_epsilon(eps: float) -> float:
    """Epsilon rounded up to the next multiple of 0.01 (never under-reports)."""
    return math.ceil(eps / EPSILON_STEP - 1e-9) * EPSILON_STEP


def reply_metrics(dp_mode: str, partition_id: int, *, loss: float, num_examples: int,
                  privacy: PrivacyOutcome | None, secagg: bool = False) -> dict[str, Any]:
    """The numbers a reply may carry (see the module docstring)."""
    if dp_mode == "none" and secagg:
        return {"partition-id": partition_id}
    if dp_mode == "none":
        return {"train-loss": float(loss), "num-examples": int(num_examples), "partition-id": partition_id}
    out: dict[str, Any] = {"dp-unit-weight": 1, "partition-id": partition_id}
    if privacy is not None:
        out["epsilon"] = round(coarse_epsilon(privacy.epsilon), 2)
    return out


def reply_privacy(privacy: PrivacyOutcome) -> dict[str, str]:
    """The ``privacy`` record: owner id and ledger head; the ledger only when published."""
    out = {"owner-id": privacy.owner_id, "ledger-head": privacy.ledger_head}
    if privacy.ledger is not None:
        out["ledger"] = privacy.ledger
    return out

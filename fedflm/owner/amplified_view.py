"""What an owner's node says about privacy amplification by client sampling (issue 24).

Under ``--amplify-by-sampling`` the server CLAIMS it samples every owner with probability ``p`` from a
secret CSPRNG in each of the run's rounds. The owner cannot check the claim: a malicious server can say
``p = 0.01`` and sample the owner every round. So the node's ledger, cap and refusals never use the
amplified figure (they keep the unamplified epsilon), and the node computes the amplified figure -- an
additional number, labelled, valid only against an adversary who sees the released models alone -- only
when the owner's own policy says ``accept_sampling_amplification``, and withholds it when the owner's
own participation count in the run is implausible under the claimed rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fedflm.config import RunConfig
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy.amplification import claim_plausible, owner_amplified_epsilon
from fedflm.privacy.participation import participation_rate

__all__ = ["amplified_view"]


def amplified_view(policy: OwnerPolicy, cfg: RunConfig, entries: Sequence[Mapping[str, Any]],
                   server_round: int) -> tuple[float | None, str]:
    """(amplified epsilon or None, one line for the owner's console; "" when the run asks for none)."""
    if not cfg.privacy.amplify_by_sampling:
        return None, ""
    p, run_id = participation_rate(cfg), cfg.privacy.ledger_run_id
    if not policy.accept_sampling_amplification:
        return None, (f"the server claims secret client sampling (p = {p:.4g}); this owner's policy does not accept "
                      "a server's sampling claim (accept-sampling-amplification false): epsilon stays unamplified")
    taken = sum(1 for e in entries if e["run_id"] == run_id)
    rounds = max(cfg.fed.rounds, server_round)
    if not claim_plausible(taken, server_round, p):
        return None, (f"the server claims p = {p:.4g}, but this owner trained in {taken} of {server_round} rounds "
                      "(probability < 0.1 % under that claim): amplified epsilon withheld, epsilon stays unamplified")
    eps = owner_amplified_epsilon(entries, p, {run_id: rounds}, cfg.privacy.delta)
    return eps, (f"epsilon_amplified {eps:.4f} (p = {p:.4g} claimed by the server, all {rounds} rounds charged; "
                 "valid ONLY against an adversary who sees the released models alone; the ledger keeps the "
                 "unamplified epsilon)")

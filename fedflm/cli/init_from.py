"""What ``--init-from RUN`` prints before a continued run: the earlier run and its owners' spend."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fedflm.config import RunConfig


def continued_text(cfg: RunConfig) -> tuple[str, RunConfig]:
    """The lines to print, and the config to compute the privacy plan with (the earlier owners'
    ledgers as prior history, so that the plan's epsilon is the cumulative one)."""
    from fedflm.export.card import owner_privacy
    from fedflm.fl.simulation import prior_privacy_state

    run = Path(cfg.fed.init_from)
    spent = owner_privacy(run)
    lines = [f"continuing from {run}: its global adapter and head are this run's starting point"]
    if spent:
        lines.append("  epsilon already spent (earlier runs, from the owners' ledgers): " + ", ".join(
            f"{owner} {p['epsilon']:.3f}" for owner, p in spent.items() if p.get("epsilon") is not None))
        lines.append("  the owners' epsilon keeps accumulating: --epsilon is each owner's cumulative target")
    state = prior_privacy_state(run)
    plan_cfg = cfg
    if state is not None and not cfg.privacy.privacy_state:
        plan_cfg = dataclasses.replace(cfg, privacy=dataclasses.replace(cfg.privacy, privacy_state=str(state)))
    return "\n".join(lines), plan_cfg

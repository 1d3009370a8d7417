"""Secure aggregation in a deployment (issue 21): SecAgg+ rounds under the deployment rules.

:class:`SecAggDeploymentRounds` gives :class:`~fedflm.fl.secagg.SecAggFedAvg` (Flower's
SecAggPlusWorkflow, four stages per round) what :class:`~fedflm.deploy.rounds.DeploymentRounds`
gives the Message-API strategies:

* before a round, wait up to the round timeout for ``min_clients`` connected nodes, else the round is
  skipped (global model unchanged, logged);
* a round that SecAgg+ could not unmask (fewer owners answered than its threshold), or in which fewer
  than ``min_clients`` owners' masked updates entered the sum, leaves the global model unchanged and
  counts as skipped; after ``max_skipped`` consecutive skipped rounds the run ends cleanly
  (:class:`~fedflm.deploy.rounds.QuorumLost`);
* rounds are numbered from the checkpoint's round after a resume, and a resumed run's requests carry
  the fresh ledger run id and the rounds left (``client_overrides``), exactly as without secagg;
* checkpoints are written by the session's ``evaluate_fn`` after every round, as without secagg.
"""

from __future__ import annotations

from typing import Any

from flwr.app import ArrayRecord, ConfigRecord
from flwr.serverapp.strategy import Result

from fedflm.deploy.rounds import DeploymentRounds
from fedflm.fl.secagg import SecAggFedAvg, SecAggHalted, run_rounds

__all__ = ["SecAggDeploymentRounds"]


class SecAggDeploymentRounds(DeploymentRounds):
    """Drives :class:`SecAggFedAvg` round by round with quorum waits, skips and the resume offset."""

    inner: SecAggFedAvg

    def start(self, grid: Any, initial_arrays: ArrayRecord, num_rounds: int = 3, timeout: float | None = None,
              train_config: ConfigRecord | None = None, evaluate_fn: Any = None) -> Result:
        self.inner.set_train_config({**dict(train_config or {}), **self.overrides})
        context = self.inner.legacy_context(grid, num_rounds + self.offset, timeout)
        return run_rounds(initial_arrays, num_rounds,
                          lambda r, arrays: self._round(grid, context, r + self.offset, arrays), evaluate_fn)

    def _round(self, grid: Any, context: Any, r: int, arrays: ArrayRecord) -> ArrayRecord:
        """Round ``r`` (numbered as the owners see it): the new global adapter, or the old one if skipped."""
        if not self._quorum_or_skip(grid, r):
            return arrays
        try:
            new = self.inner.run_round(grid, context, r, arrays)
        except SecAggHalted as exc:
            self._skip(r, str(exc))
            return arrays
        ok = int(self.inner.last_round.get("clients_ok", 0))
        if ok < self.min_clients:
            self._skip(r, f"{ok} masked update(s) entered the secure sum, min_clients={self.min_clients}; "
                          "the global model is unchanged")
            return arrays
        self.skipped = 0
        return new

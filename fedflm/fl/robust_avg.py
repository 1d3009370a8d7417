"""FedAvg whose averaging step can be a robust rule (``--robust``; the rules are in ``robust.py``).

Placed under the server optimizers in the class order (``FedAdam -> FedOpt -> RobustAvg ->
FedAvg``), so FedAdam, FedYogi, FedAdagrad and FedAvgM step on the robust aggregate instead of the
plain mean. Rules act on updates (client adapter minus the global adapter this round sent); they
weigh clients equally (the plain mean weighs by ``weighted_by_key``).
"""

from __future__ import annotations

from typing import Any, Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp.strategy import FedAvg

from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.robust import aggregate, flatten, unflatten


class RobustAvg(FedAvg):
    """FedAvg; with ``robust`` set (a ``--robust`` rule), aggregates with that rule instead."""

    def __init__(self, *args: Any, robust: str = "none", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.robust = robust
        self.global_state: dict[str, Any] | None = None
        #: node id -> (action, update norm) of the last aggregation ("kept" / "clipped" / "rejected")
        self.robust_actions: dict[int, tuple[str, float]] = {}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Any) -> Iterable[Message]:
        self.global_state = from_record(arrays)
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        self.robust_actions = {}
        if self.robust == "none":
            return super().aggregate_train(server_round, replies)
        valid, _ = self._check_and_log_replies(list(replies), is_train=True)
        if not valid or self.global_state is None:
            return None, None
        ref = self.global_state
        result = aggregate(self.robust, flatten([from_record(m.content["arrays"]) for m in valid], ref))
        self.robust_actions = {m.metadata.src_node_id: (a, n)
                               for m, a, n in zip(valid, result.actions, result.norms)}
        metrics = self.train_metrics_aggr_fn([m.content for m in valid], self.weighted_by_key)
        return to_record(unflatten(result.update, ref)), metrics

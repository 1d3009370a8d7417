"""FedAvg whose averaging step can be a robust rule (``--robust``; the rules are in ``robust.py``).

Placed under the server optimizers in the class order (``FedAdam -> FedOpt -> RobustAvg ->
FedAvg``), so FedAdam, FedYogi, FedAdagrad and FedAvgM step on the robust aggregate instead of the
plain mean. Rules act on updates (client adapter minus the global adapter this round sent); they
weigh clients equally (the plain mean weighs by ``weighted_by_key``).

Round 1 of a prototype run sends class sums, not updates (:meth:`RobustAvg.aggregate_prototypes`):
without a robust rule their plain mean, as always; with one, whatever the rule, the per-owner
screen of ``robust_proto.py`` first, then the plain mean of the owners it kept (as it clipped them).
An owner the screen rejected is rejected in every later round of the run too (recorded so), and
the rule works on the others: its release was no set of sentence vectors, so its updates are not
trusted either.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp.strategy import FedAvg

from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.robust import aggregate, flatten, unflatten
from fedflm.fl.robust_proto import screen_prototypes


class RobustAvg(FedAvg):
    """FedAvg; with ``robust`` set (a ``--robust`` rule), aggregates with that rule instead."""

    def __init__(self, *args: Any, robust: str = "none", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.robust = robust
        self.global_state: dict[str, Any] | None = None
        #: node id -> (action, update norm) of the last aggregation ("kept" / "clipped" / "rejected")
        self.robust_actions: dict[int, tuple[str, float]] = {}
        #: what made ``robust_actions`` (the rule, or the prototype screen under it)
        self.robust_label = robust
        #: the head weight's key in the adapter state: the prototype round's class sums (server/app.py)
        self.prototype_key: str | None = None
        #: node ids the prototype screen rejected: rejected again in every later round of the run
        self.excluded: set[int] = set()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Any) -> Iterable[Message]:
        self.global_state = from_record(arrays)
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        self.robust_actions, self.robust_label = {}, self.robust
        if self.robust == "none":
            return super().aggregate_train(server_round, replies)
        valid, _ = self._check_and_log_replies(list(replies), is_train=True)
        if not valid or self.global_state is None:
            return None, None
        ref = self.global_state
        deltas = flatten([from_record(m.content["arrays"]) for m in valid], ref)
        trusted = [i for i, m in enumerate(valid) if m.metadata.src_node_id not in self.excluded]
        self.robust_actions = {m.metadata.src_node_id: ("rejected", float(np.linalg.norm(d)))
                               for m, d in zip(valid, deltas)}  # the screen's rejects; the rule's actions below
        if not trusted:
            return None, None
        result = aggregate(self.robust, deltas[trusted])
        for i, action, norm in zip(trusted, result.actions, result.norms):
            self.robust_actions[valid[i].metadata.src_node_id] = (action, norm)
        metrics = self.train_metrics_aggr_fn([valid[i].content for i in trusted], self.weighted_by_key)
        return to_record(unflatten(result.update, ref)), metrics

    def aggregate_prototypes(self, server_round: int,
                             replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """The prototype round's aggregate: FedAvg's mean of the class sums (never a server optimizer's
        step); with a robust rule, of the owners :func:`screen_prototypes` kept, as it clipped them."""
        replies = list(replies)
        self.robust_actions, self.robust_label = {}, f"prototype-screen (--robust {self.robust})"
        if self.robust == "none":
            return FedAvg.aggregate_train(self, server_round, replies)
        valid, _ = self._check_and_log_replies(replies, is_train=True)
        if not valid or self.global_state is None:
            return None, None
        if self.prototype_key is None:
            raise ValueError("a robust prototype round needs the head weight's key (prototype_key)")
        key = self.prototype_key
        start = np.asarray(self.global_state[key], np.float64)
        deltas = np.stack([from_record(m.content["arrays"])[key] - start for m in valid])
        screen = screen_prototypes(deltas)
        self.robust_actions = {m.metadata.src_node_id: (a, n)
                               for m, a, n in zip(valid, screen.actions, screen.norms)}
        self.excluded = {m.metadata.src_node_id for m, a in zip(valid, screen.actions) if a == "rejected"}
        kept = [m for m, f in zip(valid, screen.factors) if f > 0]
        arrays, metrics = FedAvg.aggregate_train(self, server_round, kept)  # every other tensor, the metrics
        if arrays is None:
            return None, None
        weights = np.array([float(m.content["metrics"][self.weighted_by_key]) for m in valid])
        state = from_record(arrays)
        state[key] = (start + screen.combine(deltas, weights)).astype(state[key].dtype)
        return to_record(state), metrics

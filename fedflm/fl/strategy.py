"""Strategies that keep per-client records, and a Grid wrapper that reports progress.

Aggregation itself is Flower's (FedAvg weighted by ``weighted_by_key``, or FedAvgM / FedAdam /
FedYogi / FedAdagrad on top of it: :func:`build_strategy`), optionally with a robust rule in place
of the mean (:class:`~fedflm.fl.robust_avg.RobustAvg`). :class:`Recording` only observes the
replies: which clients answered, which failed or refused (kept as data, never a crash), what each
uploaded, its train loss, and what a robust rule did with its update.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from flwr.app import Message
from flwr.serverapp.strategy import FedAdagrad, FedAdam, FedAvgM, FedYogi

from fedflm.config import AggConfig
from fedflm.config_rules import STRATEGIES, parse_spec

from fedflm.fl.arrays import record_nbytes
from fedflm.fl.dp_server import enough_clients_or_stop, error_row, ledger_copies, poisson_subset, reply_row
from fedflm.fl.progress import reporter
from fedflm.fl.robust_avg import RobustAvg


class ProgressGrid:
    """Delegates to a Flower Grid; ``send_and_receive`` also reports replies as they arrive."""

    def __init__(self, grid: Any, pull_interval: float = 0.2) -> None:
        self._grid, self._interval = grid, pull_interval
        self.server_round = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(self, messages: Iterable[Message], *,
                         timeout: float | None = None) -> list[Message]:
        ids = set(self._grid.push_messages(messages))
        total, replies = len(ids), []
        end = time.time() + (timeout if timeout is not None else 0.0)
        while ids and (timeout is None or time.time() < end):
            got = list(self._grid.pull_messages(ids))
            if got:
                replies += got
                ids.difference_update(m.metadata.reply_to_message_id for m in got)
                reporter().client_done(self.server_round, len(replies), total)
            if ids:
                time.sleep(self._interval)
        return replies


class Recording:
    """Mixin over a Flower strategy: a record of each round's replies (for metrics and the run dir)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_round: dict[str, Any] = {}
        self.sampled = 0
        #: ``(server_round, aggregated arrays) -> arrays``: server-side post-processing of a round's
        #: aggregate (the prototype head of round 1: fedflm.privacy.prototypes.prototype_head)
        self.post_aggregate: Any = None
        #: issue 24, --amplify-by-sampling: each offered node trains with this probability, drawn from the OS
        #: CSPRNG (secret Poisson sampling; the inner strategy then offers every node)
        self.poisson_rate: float | None = None

    def configure_train(self, server_round: int, arrays, config, grid) -> list[Message]:
        messages = list(super().configure_train(server_round, arrays, config, grid))
        if self.poisson_rate is not None:
            messages = poisson_subset(messages, self.poisson_rate)
        self.sampled = len(messages)
        if isinstance(grid, ProgressGrid):
            grid.server_round = server_round
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        replies = list(replies)
        clients, bytes_up, failed = [], 0, 0
        for msg in replies:
            if msg.has_error():
                failed += 1
                clients.append(error_row(server_round, msg))  # typed refusal code, not the reason text
                continue
            bytes_up += record_nbytes(msg.content["arrays"])
            clients.append(reply_row(server_round, msg))
        if self.post_aggregate is not None and server_round == 1:
            # the prototype round's replies are class sums, not model deltas: their mean (under a robust
            # rule, of the owners the prototype screen keeps), never a server optimizer's step
            arrays, agg = RobustAvg.aggregate_prototypes(self, server_round, replies)
        else:
            arrays, agg = super().aggregate_train(server_round, replies)
        robust = self._robust_record(clients)
        self.last_round = {**robust, "round": server_round, "clients": clients, "bytes_up": bytes_up,
                           "clients_ok": len(replies) - failed,
                           "clients_failed": failed + max(self.sampled - len(replies), 0),
                           "train": dict(agg) if agg is not None else {},
                           "ledgers": ledger_copies(replies)}
        enough_clients_or_stop(server_round, clients, self.min_train_nodes)  # refusals are data
        if arrays is not None and self.post_aggregate is not None:
            arrays = self.post_aggregate(server_round, arrays)
            if server_round == 1 and isinstance(self, FedAvgM) and self.current_arrays is not None:
                # FedAvgM's next delta starts from the prototype head (it sets current_arrays only once);
                # FedOpt strategies and DP wrappers reset theirs in configure_train every round.
                self.current_arrays = arrays
        return arrays, agg

    def _robust_record(self, clients: list[dict[str, Any]]) -> dict[str, Any]:
        """Each client's robust action (into its row) and the round's clipped / rejected node ids."""
        actions: dict[int, tuple[str, float]] = getattr(self, "robust_actions", {})
        if not actions:
            return {}
        named: dict[str, list[Any]] = {"clipped": [], "rejected": []}
        for row in clients:
            if row.get("node_id") in actions:
                action, norm = actions[row["node_id"]]
                row["robust"], row["update_norm"] = action, round(norm, 6)
                if action in named:  # the client's partition id where it sent one, else its node id
                    named[action].append(row.get("partition_id", row["node_id"]))
        rule = getattr(self, "robust_label", self.robust)  # the prototype round: the screen under the rule
        return {"robust": {"rule": rule, **{k: sorted(v) for k, v in named.items()}}}


class RecordingFedAvg(Recording, RobustAvg):
    """Flower FedAvg (or a robust rule in its place) with per-round records."""


#: --strategy name -> the Flower strategy under the records (fedprox: FedAvg; its mu acts at the clients)
_FLOWER = {"fedavgm": FedAvgM, "fedadam": FedAdam, "fedyogi": FedYogi, "fedadagrad": FedAdagrad}
#: server learning rate of fedadam / fedyogi / fedadagrad: Flower's default. These optimizers move each
#: coordinate by about ETA per round; the head's FedAvg update is ~0.16 per coordinate per round in the
#: Banking77 head recipes, LoRA's B far smaller (pass a smaller ETA for --train lora): README "Aggregation"
DEFAULT_ETA = 0.1
DEFAULT_MOMENTUM = 0.9


def build_strategy(agg: AggConfig, **kwargs: Any) -> Recording:
    """The recording strategy for ``--strategy`` / ``--robust``; ``kwargs`` go to Flower's FedAvg."""
    name, args = parse_spec(agg.strategy, STRATEGIES, "strategy")
    if name not in _FLOWER:
        return RecordingFedAvg(robust=agg.robust, **kwargs)
    cls = type(f"Recording{_FLOWER[name].__name__}", (Recording, _FLOWER[name], RobustAvg), {})
    if name == "fedavgm":
        extra = {"server_learning_rate": 1.0, "server_momentum": args[0] if args else DEFAULT_MOMENTUM}
    else:
        extra = {"eta": args[0] if args else DEFAULT_ETA}
    strategy = cls(**kwargs, **extra)
    strategy.robust = agg.robust  # RobustAvg's rule (its __init__ is reached without our keyword)
    return strategy

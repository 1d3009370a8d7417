"""FedAvg that keeps per-client records, and a Grid wrapper that reports progress.

Aggregation itself is Flower's FedAvg (weighted by ``num-examples``); this
subclass only observes the replies: which clients answered, which failed or
refused (kept as data, never a crash), what each uploaded and its train loss.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from flwr.app import Message, MetricRecord
from flwr.serverapp.strategy import FedAvg

from fedflm.fl.arrays import record_nbytes
from fedflm.fl.dp_server import enough_clients_or_stop, error_row, ledger_copies, privacy_fields
from fedflm.fl.progress import reporter


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


class RecordingFedAvg(FedAvg):
    """Flower FedAvg plus a record of each round's replies (for metrics and the run dir)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.last_round: dict[str, Any] = {}
        self.sampled = 0
        #: ``(server_round, aggregated arrays) -> arrays``: server-side post-processing of a round's
        #: aggregate (the prototype head of round 1: fedflm.privacy.prototypes.prototype_head)
        self.post_aggregate: Any = None

    def configure_train(self, server_round: int, arrays, config, grid) -> list[Message]:
        messages = list(super().configure_train(server_round, arrays, config, grid))
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
            metrics: MetricRecord = msg.content["metrics"]
            bytes_up += record_nbytes(msg.content["arrays"])
            row = {"round": server_round, "node_id": msg.metadata.src_node_id, "status": "ok"}
            row.update({k.replace("-", "_"): v for k, v in metrics.items()})
            row.update(privacy_fields(msg))
            clients.append(row)
        arrays, agg = super().aggregate_train(server_round, replies)
        self.last_round = {"round": server_round, "clients": clients, "bytes_up": bytes_up,
                           "clients_ok": len(replies) - failed,
                           "clients_failed": failed + max(self.sampled - len(replies), 0),
                           "train": dict(agg) if agg is not None else {},
                           "ledgers": ledger_copies(replies)}
        enough_clients_or_stop(server_round, clients, self.min_train_nodes)  # refusals are data
        if arrays is not None and self.post_aggregate is not None:
            arrays = self.post_aggregate(server_round, arrays)
        return arrays, agg

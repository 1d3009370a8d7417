"""The real ClientApp's answer to a train message built exactly as a ServerApp sends it (a Flower Message
with the run config as a ConfigRecord and the round number beside it), without starting Flower or Ray."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flwr.app import ConfigRecord, Context, Message, Metadata, RecordDict

import clients.app as client_app
from fedflm.fl.arrays import to_record


def train_reply(config: Mapping[str, Any], server_round: int, arrays: Mapping[str, Any],
                node_config: Mapping[str, Any]) -> Message:
    """``clients.app.train``'s reply to round ``server_round`` of a run with the flat run ``config``."""
    record = ConfigRecord({**config, "server-round": server_round})
    meta = Metadata(run_id=1, message_id="m", src_node_id=0, dst_node_id=1, reply_to_message_id="",
                    group_id=str(server_round), created_at=time.time(), ttl=3600.0, message_type="train")
    msg = Message(RecordDict({"arrays": to_record(arrays), "config": record}), metadata=meta)
    return client_app.train(msg, Context(run_id=1, node_id=1, node_config=dict(node_config), state=RecordDict(),
                                         run_config={}))

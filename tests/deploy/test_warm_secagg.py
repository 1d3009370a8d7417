"""issue 21: a deployed node's light ClientApp masks with SecAgg+ and the owner's warm trainer trains. The
trainer learns that a request comes through SecAgg+ only from the Context its own node forwards (a state
record the server cannot set); it trains that request inside SecAgg+ (``is_masked()``), and any other as plain."""

from __future__ import annotations

import socket
import time

import pytest
from flwr.app import ConfigRecord, Context, Message, Metadata, RecordDict
from flwr.common.serde import context_to_proto, message_from_proto, message_to_proto
from flwr.proto.message_pb2 import Message as ProtoMessage

import clients.app
from fedflm.deploy import warm
from fedflm.deploy.warm_clientapp import _marked
from fedflm.fl.secagg_client import MASKED_MARK, is_masked, masked_scope


def _context() -> Context:
    return Context(run_id=1, node_id=1, node_config={"secure-mode": True}, run_config={},
                   state=RecordDict({"kept": ConfigRecord({"x": 1})}))


def _through_trainer(context: Context, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Forward one train message with ``context`` to the trainer's handler; what its ClientApp saw."""
    seen: dict = {}

    def train(msg: Message, ctx: Context) -> Message:
        seen.update(masked=is_masked(), state=sorted(ctx.state.keys()))
        return Message(RecordDict({"config": ConfigRecord({"ok": True})}), reply_to=msg)

    monkeypatch.setattr(clients.app, "train", train)
    meta = Metadata(run_id=1, message_id="m", src_node_id=0, dst_node_id=1, reply_to_message_id="", group_id="1",
                    created_at=time.time(), ttl=3600.0, message_type="train")
    msg = Message(RecordDict({"config": ConfigRecord({"server-round": 1})}), metadata=meta)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        warm.send_frame(ours, message_to_proto(msg).SerializeToString())
        warm.send_frame(ours, context_to_proto(context).SerializeToString())
        warm._handle(theirs, {"secure-mode": True})
        reply = message_from_proto(ProtoMessage.FromString(warm.recv_frame(ours)))
    assert not reply.has_error(), reply.error
    return seen


def test_a_request_masked_by_the_nodes_secagg_mod_trains_inside_secagg_at_the_warm_trainer(monkeypatch) -> None:
    # Prepare: the light ClientApp forwards from inside SecAgg+ (its mod wraps train)
    with masked_scope():
        forwarded = _marked(_context())

    # Execute
    seen = _through_trainer(forwarded, monkeypatch)

    # Assert: trained as masked; the mark is the trainer's only (stripped), the node's own state kept
    assert seen == {"masked": True, "state": ["kept"]}


def test_a_request_forwarded_outside_secagg_trains_as_plain(monkeypatch) -> None:
    # Prepare / Execute: no SecAgg+ around the forward; the original context is forwarded unchanged
    context = _context()
    assert _marked(context) is context and MASKED_MARK not in context.state

    # Assert: the owner's policy check sees a plain request (and refuses it if the owner requires secagg)
    assert _through_trainer(context, monkeypatch) == {"masked": False, "state": ["kept"]}

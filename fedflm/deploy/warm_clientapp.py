"""The ClientApp of a deployment: light (flwr only), it hands each training
message to the owner's warm trainer (fedflm/deploy/warm.py) when the node
config names one (``warm-socket``), and otherwise runs fedflm's ClientApp code
in this process (``clients.app``, imported only then).

The reply is rebuilt here with ``reply_to=msg`` so that Flower's bookkeeping
sees an ordinary reply to the message it delivered.

Secure aggregation (issue 21): Flower's SecAgg+ mod runs HERE, around ``train``
(fedflm.fl.secagg_client.secagg_mod; its per-stage state lives in this
node's Context, which the SuperNode keeps between messages). The trainer gets the
plain train request of the round and its reply is masked here; the Context
forwarded for that request carries the ``MASKED_MARK`` state record, so that the
trainer's policy check knows the reply leaves only masked.
"""

from __future__ import annotations

import socket
import time

from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp

from fedflm.fl.secagg_client import MASKED_MARK, is_masked, secagg_mod

app = ClientApp(mods=[secagg_mod])
WARM_SOCKET = "warm-socket"  # node config key: the owner's warm trainer
UNREACHABLE = 503
READY_WAIT_S = 300.0  # a trainer that is still importing torch is waited for this long


@app.train()
def train(msg: Message, context: Context) -> Message:
    path = context.node_config.get(WARM_SOCKET)
    if not path:
        from clients.app import train as train_here  # per-message path: imports torch etc.

        return train_here(msg, context)
    try:
        return _forward(str(path), msg, context)
    except TrainerNotReady:  # nothing was sent: train here, exactly as the trainer would
        from clients.app import train as train_here

        context.node_config = {k: v for k, v in context.node_config.items() if k != WARM_SOCKET}
        return train_here(msg, context)
    except (ConnectionError, OSError) as exc:
        return Message(Error(code=UNREACHABLE, reason=f"the owner's warm trainer is unreachable: {exc}"),
                       reply_to=msg)


class TrainerNotReady(Exception):
    """The warm trainer did not accept a connection in time (nothing was sent to it)."""


def _connect(path: str, wait_s: float = READY_WAIT_S) -> socket.socket:
    """Connect to the trainer, waiting while it starts (it binds its socket once torch is imported)."""
    end = time.monotonic() + wait_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > end:
                raise TrainerNotReady(path) from None
            time.sleep(0.5)


def _forward(path: str, msg: Message, context: Context) -> Message:
    from flwr.common.serde import context_to_proto, message_from_proto, message_to_proto
    from flwr.proto.message_pb2 import Message as ProtoMessage

    from fedflm.deploy.warm import recv_frame, send_frame

    with _connect(path) as sock:
        send_frame(sock, message_to_proto(msg).SerializeToString())
        send_frame(sock, context_to_proto(_marked(context)).SerializeToString())
        reply = message_from_proto(ProtoMessage.FromString(recv_frame(sock)))
    if reply.has_error():
        return Message(reply.error, reply_to=msg)
    return Message(content=reply.content, reply_to=msg)


def _marked(context: Context) -> Context:
    """The Context to forward: inside SecAgg+, a copy whose state carries ``MASKED_MARK``."""
    if not is_masked():
        return context
    state = RecordDict({**dict(context.state.items()), MASKED_MARK: ConfigRecord({"masked": True})})
    return Context(run_id=context.run_id, node_id=context.node_id, node_config=context.node_config,
                   state=state, run_config=context.run_config)

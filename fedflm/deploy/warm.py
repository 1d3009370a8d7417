"""A data owner's warm trainer: one long-lived process that serves the
ClientApp's training messages, so that torch, the model and the owner's store
are loaded once per node instead of once per message.

In deployment Flower starts a fresh ClientApp process for every message
(Flower 1.42 has no long-lived ``flwr-clientapp`` for open-source SuperNodes:
its warm executors are Kubernetes-only and not for ClientApps), and importing
torch + transformers + the model costs more than a small round's training.
``fedflm client start`` therefore starts, beside the SuperNode and under the
same lifeline, ``python -m fedflm.deploy.warm NODE_CONFIG SOCKET``:

* it listens on a Unix socket in a fresh 0700 directory (mode 0600): only the
  owner's own user can reach it; nothing listens on the network;
* it runs fedflm's own ClientApp code (``clients.app.train``) on each message,
  with ITS OWN node config (the owner's settings from its command line, never
  from the request), so the owner's privacy settings, cap and ledger (fsync'd
  before the reply) are exactly those of the per-message path;
* the decrypted store stays in this process's memory only, as it did in the
  per-message ClientApp; it dies with the node (lifeline);
* with secure mode off (reproducible experiments) the model is rebuilt for every
  message, so the torch RNG -- hence DP noise and dropout -- matches a fresh
  process exactly; in secure mode the noise comes from the OS CSPRNG anyway
  and the model stays loaded.

The ClientApp that the SuperNode starts per message
(:mod:`fedflm.deploy.warm_clientapp`) is light (flwr only): it forwards the
message and returns the reply.

Frames: 8-byte big-endian length + Flower protobuf bytes (Message, then
Context); no pickle.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import tempfile
from pathlib import Path

__all__ = ["socket_dir", "send_frame", "recv_frame", "serve", "main"]

_LEN = struct.Struct(">Q")
MAX_FRAME = 1 << 30


def socket_dir() -> Path:
    """A fresh private directory for the trainer's socket (short path: AF_UNIX allows ~107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="fedflm-warm-"))  # mkdtemp: mode 0700


def send_frame(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_LEN.pack(len(data)) + data)


def recv_frame(sock: socket.socket) -> bytes:
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size))
    if n > MAX_FRAME:
        raise ValueError(f"frame of {n} bytes refused")
    return _recv_exact(sock, n)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        buf += chunk
    return bytes(buf)


def _handle(conn: socket.socket, node_config: dict) -> None:
    from flwr.app import Error, Message
    from flwr.common.serde import context_from_proto, message_from_proto, message_to_proto
    from flwr.proto.message_pb2 import Context as ProtoContext
    from flwr.proto.message_pb2 import Message as ProtoMessage

    import clients.app
    from clients.app import train  # fedflm's ClientApp code: the same path as per-message processes
    from fedflm.fl.secagg_client import MASKED_MARK, masked_scope

    msg = message_from_proto(ProtoMessage.FromString(recv_frame(conn)))
    context = context_from_proto(ProtoContext.FromString(recv_frame(conn)))
    context.node_config = dict(node_config)  # the owner's settings, never the request's
    # the owner's light ClientApp marks a request it masks with SecAgg+ (fedflm/deploy/warm_clientapp.py)
    masked = context.state.config_records.pop(MASKED_MARK, None) is not None
    if not _secure(node_config):
        # Reproducible runs (secure mode off): start from the RNG state a fresh ClientApp process has,
        # so that a round's noise and dropout are those of the per-message path, bit for bit.
        clients.app._model.cache_clear()
    try:
        with masked_scope() if masked else contextlib.nullcontext():
            reply = train(msg, context)
    except Exception as exc:  # noqa: BLE001 - one failed round; the node keeps serving
        reply = Message(Error(code=500, reason=f"{type(exc).__name__}: {exc}"), reply_to=msg)
    send_frame(conn, message_to_proto(reply).SerializeToString())


def _secure(node_config: dict) -> bool:
    raw = node_config.get("secure-mode", True)
    return raw if isinstance(raw, bool) else str(raw).lower() not in ("0", "false", "no", "off")


def serve(node_config: dict, path: Path) -> None:
    """Accept one connection at a time on ``path`` (0600) until killed."""
    import clients.app  # noqa: F401 - warm up: torch, transformers, fedflm before the first round

    old = os.umask(0o177)
    try:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    server.listen(4)
    print(f"warm trainer ready on {path}", flush=True)
    while True:
        conn, _ = server.accept()
        with conn:
            try:
                _handle(conn, node_config)
            except (ConnectionError, OSError, ValueError) as exc:
                print(f"warm trainer: request dropped: {exc}", flush=True)


def main(argv: list[str]) -> int:
    from flwr.common.config import parse_config_args

    node_config = parse_config_args([argv[0]])
    serve(node_config, Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

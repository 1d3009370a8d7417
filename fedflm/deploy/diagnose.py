"""Why a SuperNode cannot join: probe the server the way the node dials it.

One line, in this order of checks: nothing listening at HOST:PORT (connection
refused / unreachable); the TLS handshake fails (the server's certificate does
not name HOST, or is not signed by ``--ca-cert``); otherwise the SuperLink
answered but refused this node's key (not registered).
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

__all__ = ["diagnose", "refusal_reason"]


def _split(server: str) -> tuple[str, int]:
    host, port = server.rsplit(":", 1)
    return host.strip("[]"), int(port)


def diagnose(server: str, ca_cert: Path | None, insecure: bool, log_tail: str = "", timeout: float = 5.0) -> str:
    """A one-line diagnosis of a node that keeps failing to join ``server``."""
    host, port = _split(server)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        return f"connection refused at {host}:{port}: no server listens there (wrong --server port, or not started)"
    except OSError as exc:
        return f"cannot reach {host}:{port}: {exc.strerror or exc}"
    with sock:
        if not insecure and ca_cert is not None:
            ctx = ssl.create_default_context(cafile=str(ca_cert))
            try:
                with ctx.wrap_socket(sock, server_hostname=host):
                    pass
            except ssl.SSLCertVerificationError as exc:
                if "mismatch" in str(exc.verify_message).lower():
                    return (f"TLS name mismatch: the server's certificate does not name {host!r} "
                            "(dial the name given to `fedflm certs --server-host`)")
                return f"TLS: the server's certificate is not trusted by --ca-cert {ca_cert} ({exc.verify_message})"
            except (ssl.SSLError, OSError) as exc:
                return f"TLS handshake with {host}:{port} failed: {exc}"
    reason = refusal_reason(log_tail)
    if reason:
        return reason
    return f"{host}:{port} answers but the SuperNode could not join (see the SuperNode log)"


def refusal_reason(log_text: str) -> str | None:
    """What the SuperLink said when it turned the node away, from the SuperNode's log."""
    if "Failed to activate SuperNode" in log_text or "[code: 2004]" in log_text:
        return "key not registered: the server refused this node's --auth-key (ask the operator to register its .pub)"
    if "Unauthorized" in log_text:  # not a bare "401": message ids in the log are hex
        return "the server no longer knows this node (new SuperLink or state): re-authenticating"
    if "CERTIFICATE_VERIFY_FAILED" in log_text:
        return "TLS: the server's certificate was not accepted (check --ca-cert and the server name)"
    return None

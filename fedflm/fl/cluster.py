"""``--ray-address``: find the running Ray cluster before anything starts (issue 24).

Without this check, a wrong address is not an error: ``ray.init`` retries its connection to the
cluster's GCS for minutes (logging a warning every few seconds) while Flower waits, and the run
ignores SIGTERM meanwhile. Here ``auto`` is resolved the way ``ray.init`` resolves it (``RAY_ADDRESS``,
then the cluster of the last ``ray start`` on this machine) and the head's port must accept a TCP
connection within a few seconds; otherwise the run stops with one line naming the address.
"""

from __future__ import annotations

import socket

from fedflm.errors import ConfigError

__all__ = ["host_port", "reach_cluster"]

_HINT = "start one with `ray start --head --port 6379`, then pass --ray-address auto or HOST:6379"


def host_port(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``ray://HOST:PORT``) -> ``(host, port)``; :class:`ConfigError` naming a malformed address."""
    bare = address.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--ray-address {address!r}: expected auto or HOST:PORT (the head's GCS port, "
                          "6379 by default)")
    return host.strip("[]"), int(port)


def _resolve_auto(address: str) -> str:
    from ray._private.services import canonicalize_bootstrap_address

    try:
        found = canonicalize_bootstrap_address(address)
    except (ConnectionError, ValueError) as exc:
        raise ConfigError(f"--ray-address {address}: no running Ray cluster found on this machine ({exc}); "
                          f"{_HINT}") from None
    if found is None:
        raise ConfigError(f"--ray-address {address}: no running Ray cluster found on this machine; {_HINT}")
    return found


def reach_cluster(address: str, timeout_s: float = 5.0) -> str:
    """The cluster's HOST:PORT, once its head accepts a connection; ``""`` (a private local Ray) is
    returned as it is. Raises :class:`ConfigError` naming the address when nothing answers."""
    if not address:
        return ""
    target = _resolve_auto(address) if address == "auto" else address
    host, port = host_port(target)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        shown = address if target == address else f"{address} ({target})"
        raise ConfigError(f"--ray-address {shown}: no Ray cluster answers at {host}:{port} "
                          f"({exc.strerror or exc}); {_HINT}") from None
    return target

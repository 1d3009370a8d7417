"""The data owner's node heartbeat: how fast the server notices a dead node.

A Flower SuperNode tells the SuperLink how often it will send a heartbeat; the
SuperLink marks it offline after ``HEARTBEAT_PATIENCE`` (2) intervals without
one and then answers the messages waiting for that node with a *Node
Unavailable* error reply, so the round goes on with the other nodes instead of
waiting for its timeout. Flower 1.42 has no flag for that interval: the
SuperNode reads the module constant ``flwr.common.constant.HEARTBEAT_DEFAULT_INTERVAL``
(30 s), which ``flwr.supernode.fleet_http_connection`` (the interval reported
to the SuperLink) and ``flwr.supercore.heartbeat`` (the sending period) import
by name. ``fedflm client start --heartbeat SECONDS`` therefore runs the
SuperNode as ``python -m fedflm.deploy.heartbeat SECONDS flower-supernode-args...``:
this module sets the name in those two modules (``flwr.common.constant`` itself is left alone),
and then calls Flower's own ``flower-supernode`` entry point. Nothing else of
Flower's is changed; a Flower release that renames the constant or the modules
makes the node refuse to start with one clear line instead of silently keeping
30 s (``tests/deploy/test_heartbeat.py`` pins this against the installed Flower).

The same constant also sets how long the SuperNode keeps a ClientApp's task
token alive between the ClientApp's own heartbeats (``flwr.supercore.corestate``:
one interval to start, two while running). The ClientApp is a separate
``flwr-clientapp`` process that keeps Flower's 30 s sending period, so a shorter
token life there makes the node declare its own healthy ClientApp crashed
("ClientApp stopped responding.") whenever training outlasts it (seen on a loaded
2-core machine with ``--heartbeat 10``). Those modules are set to Flower's own
value: ``--heartbeat`` changes only the node-to-server heartbeat.

The SuperLink accepts intervals in [HEARTBEAT_MIN_INTERVAL, HEARTBEAT_MAX_INTERVAL]
(10 s .. 30 min in Flower 1.42) and refuses the node otherwise, so the bounds
are checked here, before any process starts.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Sequence

from fedflm.errors import ConfigError, FederationError

__all__ = ["HEARTBEAT_MODULES", "TASK_TOKEN_MODULES", "check_heartbeat", "apply_heartbeat", "heartbeat_argv", "main"]

_NAME = "HEARTBEAT_DEFAULT_INTERVAL"
#: the Flower modules of the SuperNode process that read the node heartbeat interval
HEARTBEAT_MODULES = ("flwr.supercore.heartbeat", "flwr.supernode.fleet_http_connection")
#: the modules whose copy of the constant times out ClientApp task tokens: kept at Flower's value
TASK_TOKEN_MODULES = ("flwr.supercore.corestate.in_memory_corestate", "flwr.supercore.corestate.sql_corestate")


def bounds() -> tuple[float, float]:
    """The intervals the installed Flower's SuperLink accepts, in seconds."""
    from flwr.common import constant

    return float(constant.HEARTBEAT_MIN_INTERVAL), float(constant.HEARTBEAT_MAX_INTERVAL)


def check_heartbeat(seconds: float | str) -> float:
    """``seconds`` as a float if the SuperLink will accept it; ConfigError naming the value otherwise."""
    low, high = bounds()
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise ConfigError(f"--heartbeat must be a number of seconds, got {seconds!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"--heartbeat must be between {low:g} and {high:g} seconds (Flower's SuperLink "
                          f"refuses other intervals), got {seconds!r}")
    return value


def _module(name: str):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise FederationError(f"--heartbeat: the installed Flower has no module {name} ({exc}); "
                              "this version of fedflm cannot set its heartbeat") from None
    if not hasattr(module, _NAME):
        raise FederationError(f"--heartbeat: {name}.{_NAME} is gone in the installed Flower; "
                              "this version of fedflm cannot set its heartbeat")
    return module


def apply_heartbeat(seconds: float | str) -> None:
    """Set the SuperNode's heartbeat interval in this process (before Flower's SuperNode starts); the
    ClientApp task-token timeouts keep Flower's own interval (see the module docstring)."""
    value = check_heartbeat(seconds)
    flower_default = _module("flwr.common.constant").HEARTBEAT_DEFAULT_INTERVAL  # never patched: see above
    for name in HEARTBEAT_MODULES:
        setattr(_module(name), _NAME, value)
    for name in TASK_TOKEN_MODULES:
        setattr(_module(name), _NAME, flower_default)


def heartbeat_argv(seconds: float, supernode_args: Sequence[str]) -> list[str]:
    """The command line of a SuperNode whose heartbeat interval is ``seconds``."""
    return [sys.executable, "-m", "fedflm.deploy.heartbeat", repr(check_heartbeat(seconds)), *supernode_args]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m fedflm.deploy.heartbeat SECONDS ARGS...``: ``flower-supernode ARGS...`` with that interval."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m fedflm.deploy.heartbeat SECONDS [flower-supernode arguments]")
    try:
        apply_heartbeat(args[0])
    except (ConfigError, FederationError) as exc:
        raise SystemExit(f"fedflm: error: {exc}") from None
    from flwr.supernode.cli import flower_supernode

    sys.argv = ["flower-supernode", *args[1:]]
    flower_supernode()


if __name__ == "__main__":
    main()

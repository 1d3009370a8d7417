"""``fedflm client start``: a data owner's Flower SuperNode.

The SuperNode dials the operator's SuperLink over TLS (verifying it with the
CA certificate), authenticates with the owner's node key, and runs fedflm's
ClientApp on the owner's encrypted store. The store path, key file, privacy
state directory and epsilon cap go into the SuperNode's *node config*: they
stay on the owner's machine (the server only ever sees adapter tensors and
aggregate numbers). SIGTERM / Ctrl-C stop the SuperNode and its helpers.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fedflm.config import check_epsilon_cap
from fedflm.data.keys import read_key_file
from fedflm.data.store import read_manifest
from fedflm.deploy.procs import Proc, flower_bin, flower_env, free_port
from fedflm.errors import ConfigError, FederationError

__all__ = ["ClientOptions", "supernode_argv", "node_config", "start_client", "run_foreground"]

_SERVER_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
INSECURE_BANNER = ("!!! INSECURE: --insecure given: this node talks to the server WITHOUT TLS and "
                   "without authentication; anyone on the network can read and forge updates. !!!")


@dataclass(frozen=True)
class ClientOptions:
    """A data owner's node."""

    server: str  # HOST:PORT of the SuperLink
    store: Path
    key_file: Path
    state_dir: Path
    owner_id: str
    ca_cert: Path | None = None  # the operator's ca.pem
    auth_key: Path | None = None  # this node's private key (OpenSSH EC)
    max_epsilon: float | None = None
    secure_mode: bool = True
    insecure: bool = False
    port: int = 0  # local port of the SuperNode's ClientApp runtime API (0 = any free one)
    max_retries: int | None = None
    max_wait_time: float | None = None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SERVER_RE.match(self.server):
            raise ConfigError(f"--server must be HOST:PORT, got {self.server!r}")
        check_epsilon_cap(self.max_epsilon)
        if not self.insecure:
            if self.ca_cert is None or not self.ca_cert.is_file():
                raise ConfigError(f"--ca-cert must name the operator's CA certificate, got {self.ca_cert}")
            if self.auth_key is None or not self.auth_key.is_file():
                raise ConfigError(f"--auth-key must name this node's private key, got {self.auth_key}")
        read_manifest(self.store, read_key_file(self.key_file))  # wrong key / store: fail now, not per round


def node_config(opts: ClientOptions) -> str:
    """The SuperNode's ``--node-config`` string (values quoted as TOML strings)."""
    items = {"store": str(opts.store.resolve()), "key-file": str(opts.key_file.resolve()),
             "privacy-state": str(opts.state_dir.resolve()), "owner-id": opts.owner_id,
             "secure-mode": "true" if opts.secure_mode else "false"}
    for k, v in items.items():
        if '"' in v or "\\" in v:
            raise ConfigError(f"{k} must not contain quotes or backslashes, got {v!r}")
    text = " ".join(f'{k}="{v}"' for k, v in items.items())
    if opts.max_epsilon is not None:
        text += f" max-epsilon={float(opts.max_epsilon)!r}"
    return text


def supernode_argv(opts: ClientOptions) -> list[str]:
    argv = [flower_bin("flower-supernode"), "--superlink", opts.server, "--node-config", node_config(opts),
            "--port", str(opts.port or free_port())]
    if opts.max_retries is not None:
        argv += ["--max-retries", str(opts.max_retries)]
    if opts.max_wait_time is not None:
        argv += ["--max-wait-time", str(opts.max_wait_time)]
    if opts.insecure:
        return argv + ["--insecure"]
    return argv + ["--root-certificates", str(opts.ca_cert), "--auth-supernode-private-key", str(opts.auth_key)]


def start_client(opts: ClientOptions, log_path: Path) -> Proc:
    """Start the SuperNode in the background (the caller stops it)."""
    opts.state_dir.mkdir(parents=True, exist_ok=True)
    return Proc(f"supernode {opts.owner_id}", supernode_argv(opts), log_path,
                env=flower_env({"OMP_NUM_THREADS": "1", **opts.env}), cwd=opts.state_dir)


def run_foreground(opts: ClientOptions, say: Callable[[str], None] = print, give_up_s: float = 3600.0) -> int:
    """``fedflm client start``: runs until SIGTERM / Ctrl-C. A SuperNode that cannot
    activate (server not up yet, key not registered yet) is restarted with backoff
    for up to ``give_up_s`` seconds since the last successful connection."""
    if opts.insecure:
        say(INSECURE_BANNER)
    log_path = opts.state_dir / "supernode.log"

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term)
    proc: Proc | None = None
    deadline, delay = time.monotonic() + give_up_s, 1.0
    try:
        while True:
            proc = start_client(opts, log_path)
            say(f"SuperNode for owner {opts.owner_id} -> {opts.server}; log {log_path}; Ctrl-C to stop")
            code = proc.popen.wait()
            proc.stop()
            tail = " | ".join(proc.log_text().strip().splitlines()[-12:])
            if code == 0:
                return 0
            if "Failed to initialize the connection" not in tail or time.monotonic() > deadline:
                raise FederationError(f"the SuperNode exited with code {code}; see {log_path}")
            say(f"could not join {opts.server} (server not up, or this node's key not registered yet); "
                f"retrying in {delay:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
    except KeyboardInterrupt:
        say("stopping the SuperNode")
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc is not None:
            proc.stop()

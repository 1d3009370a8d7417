"""``fedflm client start``: a data owner's Flower SuperNode.

The SuperNode dials the operator's SuperLink over TLS (verifying it with the
CA certificate), authenticates with the owner's node key, and runs fedflm's
ClientApp on the owner's encrypted store. The owner's settings -- store, key
file, privacy state, secure mode and its policy (:class:`OwnerSettings`) --
go into the SuperNode's *node config*, a TOML file in the state directory:
they stay on the owner's machine and no server run config overrides them.
The owner's console prints the policy at start and, while the node runs,
every round's decision (trained / refused and why, the DP plan of each run).
SIGTERM / Ctrl-C stop the SuperNode and its helpers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fedflm.deploy.heartbeat import check_heartbeat, heartbeat_argv
from fedflm.deploy.procs import Proc, flower_bin, flower_env, free_port
from fedflm.errors import ConfigError, FederationError
from fedflm.owner.console import CONSOLE_NAME, ConsoleTail
from fedflm.owner.settings import OwnerPolicy, OwnerSettings
from fedflm.protect.keys import read_key_file
from fedflm.protect.store import read_manifest

__all__ = ["ClientOptions", "NODE_CONFIG_NAME", "supernode_argv", "write_node_config", "start_client",
           "run_foreground"]

NODE_CONFIG_NAME = "node-config.toml"

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
    policy: OwnerPolicy = field(default_factory=OwnerPolicy)  # the owner's rules (max_epsilon required)
    secure_mode: bool = True
    seed: int | None = None  # secure_mode off only: the owner's own seed
    insecure: bool = False
    port: int = 0  # local port of the SuperNode's ClientApp runtime API (0 = any free one)
    max_retries: int | None = None
    max_wait_time: float | None = None
    heartbeat: float | None = None  # seconds between the node's heartbeats (None: Flower's 30 s)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SERVER_RE.match(self.server):
            raise ConfigError(f"--server must be HOST:PORT, got {self.server!r}")
        if self.policy.max_epsilon is None:
            raise ConfigError("an epsilon cap is required on a data owner's node: --max-epsilon E "
                              "(or max-epsilon in --policy FILE)")
        self.settings()  # owner id, secure mode / seed: fail now, not per round
        if self.heartbeat is not None:
            check_heartbeat(self.heartbeat)
        if self.max_retries is not None and self.max_retries < 1:
            raise ConfigError(f"--connect-retries must be >= 1, got {self.max_retries}")
        if not self.insecure:
            if self.ca_cert is None or not self.ca_cert.is_file():
                raise ConfigError(f"--ca-cert must name the operator's CA certificate, got {self.ca_cert}")
            if self.auth_key is None or not self.auth_key.is_file():
                raise ConfigError(f"--auth-key must name this node's private key, got {self.auth_key}")
        read_manifest(self.store, read_key_file(self.key_file))  # wrong key / store: fail now, not per round

    def settings(self) -> OwnerSettings:
        """The owner's settings as its node will parse them back."""
        return OwnerSettings(owner_id=self.owner_id, state_dir=self.state_dir, store=self.store,
                             key_file=self.key_file, secure_mode=self.secure_mode, seed=self.seed,
                             policy=self.policy)


def write_node_config(opts: ClientOptions) -> Path:
    """Write the SuperNode's node config (``STATE_DIR/node-config.toml``, 0600) and return its path."""
    import tomli_w

    opts.state_dir.mkdir(parents=True, exist_ok=True)
    path = opts.state_dir / NODE_CONFIG_NAME
    tmp = path.with_name(f".{NODE_CONFIG_NAME}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(opts.settings().to_node_config(), fh)
    tmp.replace(path)
    return path


def supernode_argv(opts: ClientOptions) -> list[str]:
    argv = ["--superlink", opts.server, "--node-config", str(write_node_config(opts)),
            "--port", str(opts.port or free_port())]
    if opts.max_retries is not None:
        argv += ["--max-retries", str(opts.max_retries)]
    if opts.max_wait_time is not None:
        argv += ["--max-wait-time", str(opts.max_wait_time)]
    if opts.insecure:
        argv += ["--insecure"]
    else:
        argv += ["--root-certificates", str(opts.ca_cert), "--auth-supernode-private-key", str(opts.auth_key)]
    if opts.heartbeat is None:
        return [flower_bin("flower-supernode"), *argv]
    return heartbeat_argv(opts.heartbeat, argv)


def start_client(opts: ClientOptions, log_path: Path) -> Proc:
    """Start the SuperNode in the background (the caller stops it)."""
    opts.state_dir.mkdir(parents=True, exist_ok=True)
    return Proc(f"supernode {opts.owner_id}", supernode_argv(opts), log_path,
                env=flower_env({"OMP_NUM_THREADS": "1", **opts.env}), cwd=opts.state_dir)


def policy_banner(opts: ClientOptions) -> str:
    """The owner's policy and randomness, printed when the node starts."""
    from fedflm.owner.task_store import store_task
    task = store_task(opts.store, read_key_file(opts.key_file))
    lines = [f"owner {opts.owner_id}: this node's privacy policy (no server can change it)",
             *opts.policy.lines(),
             f"  task of the store   {task} (runs of any other task are refused)"]
    if opts.secure_mode:
        lines.append("  randomness          DP noise and sampling from the OS CSPRNG (secure mode)")
    else:
        lines.append("!!! secure mode OFF: DP noise from a seeded PyTorch generator "
                     f"({'owner seed ' + str(opts.seed) if opts.seed is not None else 'seeded from the OS'}); "
                     "for reproducible experiments only !!!")
    if opts.policy.allows_no_dp:
        lines.append("!!! this owner accepts dp=none: such runs train WITHOUT any privacy guarantee !!!")
    return "\n".join(lines)


def _wait_showing_console(proc: Proc, console: ConsoleTail, say: Callable[[str], None]) -> int:
    """Wait for the SuperNode; print the owner's console lines (round decisions) as they come."""
    while True:
        try:
            code = proc.popen.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = None
        for line in console.new_lines():
            say(line)
        if code is not None:
            return code


def run_foreground(opts: ClientOptions, say: Callable[[str], None] = print, give_up_s: float = 3600.0) -> int:
    """``fedflm client start``: runs until SIGTERM / Ctrl-C. A SuperNode that cannot
    activate (server not up yet, key not registered yet) is restarted with backoff
    for up to ``give_up_s`` seconds since the last successful connection."""
    if opts.insecure:
        say(INSECURE_BANNER)
    say(policy_banner(opts))
    log_path = opts.state_dir / "supernode.log"
    console = ConsoleTail(opts.settings().owner_dir / CONSOLE_NAME)

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term)
    proc: Proc | None = None
    deadline, delay = time.monotonic() + give_up_s, 1.0
    try:
        while True:
            proc = start_client(opts, log_path)
            say(f"SuperNode for owner {opts.owner_id} -> {opts.server}; log {log_path}; Ctrl-C to stop")
            code = _wait_showing_console(proc, console, say)
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

"""``fedflm client start`` in the foreground: keep the owner's SuperNode joined.

The SuperNode is (re)started whenever it exits -- the server is not up yet,
it restarted, the operator started a new run on a new SuperLink (which
answers the old node id with 401) -- with exponential backoff, and joins again
with the owner's key. Each state change is printed once::

    node hospital-a: connecting to fl.example.org:9092
    node hospital-a: connected; waiting for a run
    node hospital-a: serving a run (training on this owner's data)
    node hospital-a: refused (key not registered: ...)

After ``attempts`` failed attempts in a row one diagnosis line follows
(fedflm/deploy/diagnose.py): connection refused at HOST:PORT, TLS name
mismatch, or key not registered. Only SIGTERM / Ctrl-C stop the node.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import psutil

from fedflm.deploy.client import (INSECURE_BANNER, ClientOptions, policy_banner, supernode_argv,
                                  write_node_config)
from fedflm.deploy.diagnose import diagnose, refusal_reason
from fedflm.deploy.procs import Proc, flower_env
from fedflm.deploy.warm import socket_dir
from fedflm.deploy.warm_clientapp import WARM_SOCKET
from fedflm.errors import FederationError
from fedflm.owner.console import CONSOLE_NAME, ConsoleTail

__all__ = ["NodeSupervisor", "run_node"]

CONNECTED = "SuperNode ID:"
LOST = "Giving up reconnection"  # a joined SuperNode lost the server: Flower logs this and idles
SERVING = "serving a run (training on this owner's data)"
SCAN_S = 2.0  # seconds between scans for a ClientApp: each lists the machine's process table (psutil)


class NodeSupervisor:
    """Restart-with-backoff loop around one SuperNode; ``say`` gets each state change once."""

    def __init__(self, opts: ClientOptions, say: Callable[[str], None] = print, attempts: int = 3,
                 max_backoff: float = 15.0, give_up_s: float = 3600.0, poll: float = 0.5,
                 warm: bool = True) -> None:
        # A bounded retry inside Flower hands control back to us, so we can diagnose and re-authenticate
        self.opts = opts if opts.max_retries is not None else dataclasses.replace(opts, max_retries=4)
        self.given = opts  # as the caller gave them: start_background has no loop to hand control back to
        self.say, self.attempts, self.max_backoff = say, attempts, max_backoff
        self.give_up_s, self.poll = give_up_s, poll
        self.log_path = opts.state_dir / "supernode.log"
        self.proc: Proc | None = None
        self.warm: Proc | None = None  # the owner's warm trainer (fedflm/deploy/warm.py), if kept
        self.warm_socket = socket_dir() / "trainer.sock" if warm else None
        self.console = ConsoleTail(opts.settings().owner_dir / CONSOLE_NAME)  # the node's round decisions
        self._state = ""
        self._seen: set[str] = set()  # states announced since the node last joined
        self._diagnosed = ""
        self._scanned = float("-inf")  # when _training last listed the SuperNode's process tree

    def state(self, text: str, fresh: bool = False) -> None:
        """Announce ``text`` once; ``fresh`` starts a new episode (the node joined or lost the server)."""
        if fresh:
            self._seen.clear()
        if text != self._state and text not in self._seen:
            self.say(f"node {self.opts.owner_id}: {text}")
        self._state = text
        self._seen.add(text)

    def run(self) -> int:
        failures, last_ok = 0, time.monotonic()
        while True:
            joined, tail = self._attempt()
            if joined:
                failures, last_ok, self._diagnosed = 0, time.monotonic(), ""
                why = refusal_reason(tail) or "the server went away"
                self.state(f"disconnected ({why}); reconnecting", fresh=True)
            else:
                failures += 1
                self.state(f"refused ({refusal_reason(tail) or 'no connection'})")
                if failures >= self.attempts:
                    self._diagnose(tail)
            if time.monotonic() - last_ok > self.give_up_s:
                raise FederationError(f"node {self.opts.owner_id} could not join {self.opts.server} for "
                                      f"{self.give_up_s:.0f} s: {self._diagnosed or 'see ' + str(self.log_path)}")
            time.sleep(min(2.0 ** max(failures - 1, 0), self.max_backoff))

    def _attempt(self) -> tuple[bool, str]:
        """One SuperNode process until it exits; returns (it joined, its log text)."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.state(f"connecting to {self.opts.server}")
        self.proc = self._start_supernode()
        joined = False
        while self.proc.poll() is None:
            self._keep_warm()
            for line in self.console.new_lines():
                self.say(line)
            text = self._log_since(offset)
            if CONNECTED in text:
                if not joined:
                    joined, self._diagnosed = True, ""
                    self.state("connected; waiting for a run", fresh=True)
                if LOST in text[text.index(CONNECTED):]:  # Flower gave up but its process lingers
                    break
                if SERVING not in self._seen and self._training():  # once per connection: a run's first ClientApp
                    self.state(SERVING)
            time.sleep(self.poll)
        self.proc.stop()
        return joined or CONNECTED in self._log_since(offset), self._log_since(offset)

    def start_background(self) -> Proc:
        """Start the warm trainer and the SuperNode once, without the reconnect loop (benchmarks, tests).
        With no loop to restart it, the SuperNode keeps Flower's own unbounded reconnection (it rides out
        a server restart) unless the caller bounded it (``ClientOptions.max_retries``)."""
        self.proc = self._start_supernode(self.given)
        return self.proc

    def _start_supernode(self, opts: ClientOptions | None = None) -> Proc:
        """The SuperNode, its node config naming the warm trainer's socket when there is one."""
        opts = opts or self.opts
        opts.state_dir.mkdir(parents=True, exist_ok=True)
        argv = supernode_argv(opts)  # writes STATE_DIR/node-config.toml
        if self.warm_socket is not None:
            self._keep_warm()
            i = argv.index("--node-config") + 1
            argv[i] = str(self._warm_node_config(Path(argv[i])))
        return Proc(f"supernode {opts.owner_id}", argv, self.log_path,
                    env=flower_env({"OMP_NUM_THREADS": "1", **opts.env}), cwd=opts.state_dir)

    def _warm_node_config(self, path: Path) -> Path:
        """The SuperNode's node config plus the trainer's socket (0600, beside the owner's file)."""
        import tomli_w

        conf = tomllib.loads(path.read_text())
        conf[WARM_SOCKET] = str(self.warm_socket)
        out = path.with_name("node-config-warm.toml")
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(conf, fh)
        return out

    def _keep_warm(self) -> None:
        """(Re)start the warm trainer: one process for all messages, the owner's node config."""
        if self.warm_socket is None or (self.warm is not None and self.warm.poll() is None):
            return
        if self.warm is not None:
            self.say(f"node {self.opts.owner_id}: warm trainer exited ({self.warm.poll()}); restarting it")
            self.warm.stop()
        self.warm_socket.unlink(missing_ok=True)
        self.warm = Proc(f"warm trainer {self.opts.owner_id}",
                         [sys.executable, "-m", "fedflm.deploy.warm", str(write_node_config(self.opts)),
                          str(self.warm_socket)],
                         self.opts.state_dir / "trainer.log",
                         env=flower_env({"OMP_NUM_THREADS": "1", **self.opts.env}), cwd=self.opts.state_dir)

    def stop(self) -> None:
        for proc in (self.proc, self.warm):
            if proc is not None:
                proc.stop()
        if self.warm_socket is not None:
            self.warm_socket.unlink(missing_ok=True)
            try:
                self.warm_socket.parent.rmdir()
            except OSError:
                pass

    def _diagnose(self, tail: str) -> None:
        line = diagnose(self.opts.server, self.opts.ca_cert, self.opts.insecure, tail)
        if line != self._diagnosed:
            self._diagnosed = line
            self.say(f"node {self.opts.owner_id}: diagnosis after {self.attempts} failed attempts: {line}")

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def _training(self) -> bool:
        """Whether the SuperNode has a ClientApp child, at most every ``SCAN_S`` s (psutil's recursive
        ``children()`` reads every process's /proc entry: 3 ms of CPU with 120 processes, 0.6 % of a core per
        node at the 0.5 s poll)."""
        now = time.monotonic()
        if now - self._scanned < SCAN_S:
            return False
        self._scanned = now
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True) if self.proc else []
        except psutil.Error:
            return False
        for k in kids:
            try:
                if any("flwr-clientapp" in part for part in k.cmdline()):
                    return True
            except psutil.Error:
                continue
        return False


def run_node(opts: ClientOptions, say: Callable[[str], None] = print, **kw) -> int:
    """Until SIGTERM / Ctrl-C (exit 0), or no connection for ``give_up_s`` (FederationError)."""
    if opts.insecure:
        say(INSECURE_BANNER)
    say(policy_banner(opts))
    say(f"node {opts.owner_id}: log {opts.state_dir / 'supernode.log'}; Ctrl-C to stop")
    node = NodeSupervisor(opts, say, **kw)

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term)
    try:
        return node.run()
    except KeyboardInterrupt:
        say(f"node {opts.owner_id}: stopping")
        return 0
    finally:
        signal.signal(signal.SIGTERM, old)
        node.stop()

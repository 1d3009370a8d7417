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
import signal
import time
from collections.abc import Callable

import psutil

from fedflm.deploy.client import INSECURE_BANNER, ClientOptions, start_client
from fedflm.deploy.diagnose import diagnose, refusal_reason
from fedflm.deploy.procs import Proc
from fedflm.errors import FederationError

__all__ = ["NodeSupervisor", "run_node"]

CONNECTED = "SuperNode ID:"


class NodeSupervisor:
    """Restart-with-backoff loop around one SuperNode; ``say`` gets each state change once."""

    def __init__(self, opts: ClientOptions, say: Callable[[str], None] = print, attempts: int = 3,
                 max_backoff: float = 15.0, give_up_s: float = 3600.0, poll: float = 0.5) -> None:
        # A bounded retry inside Flower hands control back to us, so we can diagnose and re-authenticate
        self.opts = opts if opts.max_retries is not None else dataclasses.replace(opts, max_retries=4)
        self.say, self.attempts, self.max_backoff = say, attempts, max_backoff
        self.give_up_s, self.poll = give_up_s, poll
        self.log_path = opts.state_dir / "supernode.log"
        self.proc: Proc | None = None
        self._state = ""
        self._seen: set[str] = set()  # states announced since the node last joined
        self._diagnosed = ""

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
        self.proc = start_client(self.opts, self.log_path)
        joined = False
        while self.proc.poll() is None:
            text = self._log_since(offset)
            if CONNECTED in text:
                if not joined:
                    joined, self._diagnosed = True, ""
                    self.state("connected; waiting for a run", fresh=True)
                if self._training():  # once per connection: the first ClientApp of a run
                    self.state("serving a run (training on this owner's data)")
            time.sleep(self.poll)
        self.proc.stop()
        return joined or CONNECTED in self._log_since(offset), self._log_since(offset)

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
        if node.proc is not None:
            node.proc.stop()

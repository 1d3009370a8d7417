"""Run one command so that it, and everything it starts, dies with the fedflm
process that asked for it -- also when that process is killed with SIGKILL.

``python -m fedflm.deploy.lifeline PARENT_PID -- COMMAND...`` sits between a
fedflm wrapper (``client start``, ``server start``) and a Flower process:

* it is a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``): helpers that
  Flower starts in new sessions (SuperExec, ServerApp, ClientApp) are
  re-parented to it, not to init, when their own parent dies, so it always
  knows the whole tree;
* it asks for a parent-death signal (``PR_SET_PDEATHSIG``) and also polls its
  parent's pid (the portable watchdog): when the wrapper is gone, it SIGKILLs
  the whole tree at once -- a data owner's ClientApp stops training on the
  spot and writes no further ledger entry;
* the command itself gets ``PR_SET_PDEATHSIG(SIGKILL)`` as well, so killing
  the lifeline alone does not orphan it;
* SIGTERM / SIGINT from the wrapper (a normal stop) are passed to the command;
  when the command exits, its leftover helpers are stopped and the lifeline
  exits with the command's code.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import psutil

__all__ = ["lifeline_argv", "main"]

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
POLL_S = 0.25
#: Listing the tree reads every process's /proc entry (psutil): at each 0.25 s poll that cost 1.5 % of a core
#: per lifeline with 140 processes running. Every few seconds is enough: as a subreaper the lifeline finds its
#: re-parented descendants at the end anyway (``_finish`` lists them again); the list only remembers them.
REFRESH_S = 2.0
GRACE_S = 5.0


def lifeline_argv(command: Sequence[str], parent_pid: int | None = None) -> list[str]:
    """``command`` wrapped so that it dies with ``parent_pid`` (default: this process)."""
    return [sys.executable, "-m", "fedflm.deploy.lifeline", str(parent_pid or os.getpid()), "--", *command]


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


class _Tree:
    """Every descendant seen so far (psutil matches pid *and* start time, so a reused pid is not ours)."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.known: dict[int, psutil.Process] = {}

    def refresh(self) -> None:
        try:
            for p in self.me.children(recursive=True):
                self.known.setdefault(p.pid, p)
        except psutil.Error:
            pass

    def signal_all(self, sig: int) -> None:
        self.refresh()
        for p in list(self.known.values()):
            try:
                p.send_signal(sig)
            except psutil.Error:
                self.known.pop(p.pid, None)

    def alive(self) -> list[psutil.Process]:
        self.refresh()
        return [p for p in self.known.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _reap(child_pid: int) -> int | None:
    """Reap every exited child (orphans included); the command's exit code once it has exited."""
    code = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return code
        if pid == 0:
            return code
        if pid == child_pid:
            code = os.waitstatus_to_exitcode(status)


def _finish(tree: _Tree, grace: float) -> None:
    """Stop what is left of the tree: SIGTERM, ``grace`` seconds, SIGKILL."""
    if grace > 0:
        tree.signal_all(signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end:
            _reap(-1)
            if not _safe_alive(tree):
                return
            time.sleep(0.1)
    tree.signal_all(signal.SIGKILL)
    end = time.monotonic() + 5.0
    while _safe_alive(tree) and time.monotonic() < end:
        _reap(-1)
        time.sleep(0.05)


def _safe_alive(tree: _Tree) -> bool:
    try:
        return bool(tree.alive())
    except psutil.Error:
        return True


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m fedflm.deploy.lifeline PARENT_PID -- COMMAND...", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), list(argv[2:])
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the wrapper died before we were ready
        return 137
    stop = {"asked": False}

    def _on_signal(signum: int, frame: object) -> None:
        stop["asked"] = True  # handled in the loop (parent gone -> kill all; else forward)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    child = subprocess.Popen(command, preexec_fn=lambda: _prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
    tree, forwarded, listed = _Tree(), False, 0.0
    while True:
        if time.monotonic() - listed >= REFRESH_S:
            tree.refresh()
            listed = time.monotonic()
        if os.getppid() != parent:  # the wrapper is gone (SIGKILL too): nothing of ours may run on
            _finish(tree, grace=0.0)
            return 137
        if stop["asked"] and not forwarded:
            forwarded = True
            # os.kill, not Popen.send_signal: that one first polls (waitpid) the child and, when a stop that
            # signalled the whole tree has killed it already, reaps it there -- _reap below never saw its exit
            # and the lifeline spun until it was killed (every normal node stop waited the wrapper's 5 s grace).
            # Only _reap waits for the child, so its pid cannot be reused before this signal is sent.
            try:
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        code = _reap(child.pid)
        if code is not None:
            child.returncode = code
            break
        time.sleep(POLL_S)
    _finish(tree, grace=GRACE_S)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

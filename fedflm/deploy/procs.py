"""Child processes of a deployment: start in their own session, stop with all descendants,
and die with the fedflm process that started them.

Flower's SuperLink and SuperNode start helpers (SuperExec, ServerApp and
ClientApp processes) in *new* sessions, so killing a process group is not
enough: :meth:`Proc.stop` collects the whole process tree first (psutil),
then signals every member, and escalates to SIGKILL after a grace period.
Each Flower process runs under a lifeline (fedflm/deploy/lifeline.py): when
the fedflm process dies, even by SIGKILL, the lifeline kills the whole tree.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Sequence

import psutil

from fedflm.deploy.lifeline import lifeline_argv
from fedflm.errors import FederationError

__all__ = ["Proc", "flower_bin", "free_port", "wait_for_port", "kill_tree"]


def flower_bin(name: str) -> str:
    """Path of a Flower console script installed next to this Python."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise FederationError(f"{name}: not found next to {sys.executable} or on PATH (is flwr installed?)")
    return found


def flower_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Flower processes: our venv first on PATH (SuperLink spawns
    ``flower-superexec`` by name), no run-time dependency installation, and no call
    home: Flower 1.42 otherwise sends usage events (telemetry.flower.ai) and an update
    check (api.flower.ai: versions, OS) from every process, the owners' nodes included.
    Whoever wants them sets FLWR_TELEMETRY_ENABLED=1 / FLWR_DISABLE_UPDATE_CHECK=0."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION"] = "1"
    env.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    env.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.update(extra or {})
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: "Proc | None" = None) -> None:
    """Wait until something accepts TCP connections on host:port."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise FederationError(f"{proc.name} exited with code {proc.poll()} before listening on "
                                  f"{host}:{port}; see {proc.log_path}")
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)
    raise FederationError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> list[psutil.Process]:
    """Send ``sig`` to ``pid`` and every descendant; returns the processes signalled."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            pass
    return procs


class Proc:
    """One child process with its log file; stop() takes its descendants down too."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, stdout: IO[bytes] | None = None, lifeline: bool = True) -> None:
        self.name, self.argv, self.log_path = name, list(argv), Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(lifeline_argv(self.argv) if lifeline else self.argv, stdout=stdout or self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
        self._tree: set[psutil.Process] = set()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def remember_tree(self) -> None:
        """Record current descendants (they may be re-parented once their parent dies)."""
        try:
            self._tree.update(psutil.Process(self.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the tree, wait ``grace`` seconds, SIGKILL what is left; returns the exit code."""
        self.remember_tree()
        procs = set(kill_tree(self.pid, signal.SIGTERM)) | self._tree
        for p in self._tree:
            try:
                p.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(list(procs), timeout=grace)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=2.0)
        try:
            code = self.popen.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            code = None
        self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL the process alone (a crash), leaving its helpers to notice."""
        self.remember_tree()
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

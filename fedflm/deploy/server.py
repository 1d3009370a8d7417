"""``fedflm server start``: a Flower SuperLink with TLS and SuperNode
authentication, the data owners' public keys registered, and the fedflm run
submitted with ``flwr run``; returns when the run ends.

Everything Flower needs lives in ``RUN/superlink/`` (its state database,
``FLWR_HOME``, the generated App, logs). The checkpoint key reaches the ServerApp as an
environment variable naming the key *file* (``FEDFLM_CHECKPOINT_KEY_FILE``),
never through the run config.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedflm.config import RunConfig
from fedflm.deploy import env as envvars
from fedflm.deploy.finish import finish_run
from fedflm.deploy.control import CONNECTION, register_nodes, write_app_dir, write_flower_home
from fedflm.deploy.paths import absolute, absolute_run_paths, absolute_task_paths
from fedflm.deploy.procs import Proc, flower_bin, flower_env, wait_for_port
from fedflm.errors import ConfigError, FederationError

__all__ = ["ServerOptions", "ServerRun", "superlink_argv", "public_keys"]

INSECURE_BANNER = ("!!! INSECURE DEPLOYMENT: --insecure given: no TLS, no SuperNode authentication. "
                   "Updates travel in clear text and ANY node may join. Use only on a trusted test network. !!!")


@dataclass(frozen=True)
class ServerOptions:
    """How the operator's SuperLink runs."""

    host: str = "127.0.0.1"
    port: int = 9092
    certs: Path | None = None  # folder written by `fedflm certs` (ca.pem, server.pem, server.key)
    authorized_keys: tuple[Path, ...] = ()  # SuperNode public keys (.pub files or folders of them)
    insecure: bool = False
    checkpoint_key: Path | None = None  # default: certs/checkpoint.key when it exists
    resume: bool = False
    max_skipped_rounds: int = 3
    ready_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Flower's processes run in RUN/superlink: every path must be absolute
        object.__setattr__(self, "certs", absolute(self.certs))
        object.__setattr__(self, "checkpoint_key", absolute(self.checkpoint_key))
        object.__setattr__(self, "authorized_keys", tuple(absolute(p) for p in self.authorized_keys))
        if self.max_skipped_rounds < 0:
            raise ConfigError(f"max_skipped_rounds must be >= 0, got {self.max_skipped_rounds}")
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be in [1, 65535], got {self.port}")
        if not self.insecure:
            if self.certs is None:
                raise ConfigError("--certs DIR is required (or --insecure, for a trusted test network only)")
            for name in ("ca.pem", "server.pem", "server.key"):
                if not (self.certs / name).is_file():
                    raise ConfigError(f"{self.certs / name}: not found (run `fedflm certs` first)")
            if not public_keys(self.authorized_keys):
                raise ConfigError("no SuperNode public keys given (--authorized-keys FILE.pub or DIR)")

    @property
    def key_file(self) -> Path | None:
        if self.checkpoint_key is not None:
            return self.checkpoint_key
        found = self.certs / "checkpoint.key" if self.certs else None
        return found if found and found.is_file() else None


def public_keys(paths: tuple[Path, ...]) -> list[Path]:
    """The ``*.pub`` files named by ``paths`` (files, or folders searched one level deep)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(p.glob("*.pub"))
        elif p.is_file():
            out.append(p)
        else:
            raise ConfigError(f"{p}: no such public key file or folder")
    return out


def superlink_argv(opts: ServerOptions, database: Path) -> list[str]:
    # Persistent SuperLink state: after a restart (--resume) the nodes keep their ids and reconnect.
    argv = [flower_bin("flower-superlink"), "--host", opts.host, "--port", str(opts.port),
            "--database", str(database), "--disable-runtime-dependency-installation"]
    if opts.insecure:
        return argv + ["--insecure"]
    c = opts.certs
    assert c is not None
    return argv + ["--ssl-ca-certfile", str(c / "ca.pem"), "--ssl-certfile", str(c / "server.pem"),
                   "--ssl-keyfile", str(c / "server.key"), "--enable-supernode-auth"]


class ServerRun:
    """One deployment run: start() the SuperLink, submit() the run, wait(), stop()."""

    def __init__(self, cfg: RunConfig | Any, opts: ServerOptions, say: Callable[[str], None] = print) -> None:
        """``cfg``: a classification :class:`RunConfig`, or (issue 25) a ``--task causal-lm | recommend`` config
        (fedflm.task_config.FlatTaskConfig: its ``out`` and ``to_run_config`` are all this class reads)."""
        classify = isinstance(cfg, RunConfig)
        if not (cfg.fed.out if classify else cfg.out):
            raise ConfigError("--out RUN_DIR is required for a deployment run")
        # the ServerApp runs elsewhere: every path absolute
        self.cfg = absolute_run_paths(cfg) if classify else absolute_task_paths(cfg)
        self.opts, self.say = opts, say
        self.run_dir = Path(self.cfg.fed.out if classify else self.cfg.out)
        self.work = self.run_dir / "superlink"
        self.home = self.work / "flwr_home"
        self.superlink: Proc | None = None
        self.runner: Proc | None = None
        self.node_ids: dict[str, int] = {}

    @property
    def address(self) -> str:
        host = "127.0.0.1" if self.opts.host in ("0.0.0.0", "::") else self.opts.host
        return f"{host}:{self.opts.port}"

    def start(self) -> None:
        if self.opts.insecure:
            self.say(INSECURE_BANNER)
        self.work.mkdir(parents=True, exist_ok=True)
        env = flower_env(self.opts.env)
        env[envvars.DEPLOYMENT] = "1"
        env[envvars.TRANSPORT] = "insecure" if self.opts.insecure else "tls"
        env[envvars.MAX_SKIPPED_ROUNDS] = str(self.opts.max_skipped_rounds)
        if self.opts.key_file is not None:
            env[envvars.CHECKPOINT_KEY_FILE] = str(self.opts.key_file.resolve())
        if self.opts.resume:
            env[envvars.RESUME] = "1"
        self.superlink = Proc("superlink", superlink_argv(self.opts, self.work / "state.db"),
                              self.work / "superlink.log", env=env, cwd=self.work)
        wait_for_port(self.address.rsplit(":", 1)[0], self.opts.port, self.opts.ready_timeout, self.superlink)
        write_flower_home(self.home, self.address, None if self.opts.insecure else self.opts.certs / "ca.pem")
        keys = [] if self.opts.insecure else public_keys(self.opts.authorized_keys)
        self.node_ids.update((pub.stem, node_id) for pub, node_id in self._register(keys).items())
        self.say(f"SuperLink on {self.address} ({'INSECURE' if self.opts.insecure else 'TLS + node auth'}); "
                 f"{len(self.node_ids)} node key(s) registered; log {self.work / 'superlink.log'}")

    def _register(self, keys: list[Path]) -> dict[Path, int]:
        """Register the keys (one process); the Control API may answer 'unavailable' while the SuperLink
        starts up: those keys are tried again, each second, until the ready timeout."""
        end, ids, pending = time.monotonic() + self.opts.ready_timeout, {}, list(keys)
        while pending:
            retry = []
            for pub, answer in register_nodes(self.home, pending).items():
                if isinstance(answer, int):
                    ids[pub] = answer
                elif "already in use" in answer:  # registered before a restart (--resume)
                    ids[pub] = -1
                elif "unavailable" in answer and time.monotonic() < end:
                    retry.append(pub)
                else:
                    raise FederationError(f"registering node key {pub}: {answer}")
            if retry:
                time.sleep(1.0)
            pending = retry
        return ids

    def submit(self) -> None:
        app = write_app_dir(self.work / "app", self.cfg)
        argv = [flower_bin("flwr"), "run", str(app), CONNECTION, "--stream"]
        self.runner = Proc("flwr-run", argv, self.work / "run.log",
                           env=flower_env({**self.opts.env, "FLWR_HOME": str(self.home)}), cwd=self.work)

    def wait(self, timeout: float | None = None, on_row: Callable[[dict], None] | None = None) -> str:
        """Wait for the run to end; returns summary.json's status ("missing" if none)."""
        assert self.runner is not None
        end, seen = (time.monotonic() + timeout) if timeout else None, 0
        while self.runner.poll() is None:
            if end is not None and time.monotonic() > end:
                raise FederationError(f"the run did not finish within {timeout:.0f} s")
            if self.superlink is not None and self.superlink.poll() is not None:
                raise FederationError(f"the SuperLink exited (code {self.superlink.poll()}); "
                                      f"see {self.work / 'superlink.log'}")
            seen = self._report(seen, on_row)
            time.sleep(0.5)
        self._report(seen, on_row)
        return self.status()

    def _report(self, seen: int, on_row: Callable[[dict], None] | None) -> int:
        path = self.run_dir / "metrics.jsonl"
        if on_row is None or not path.exists():
            return seen
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
        for line in lines[seen:]:
            try:
                on_row(json.loads(line))
            except ValueError:
                return seen
        return len(lines)

    def status(self) -> str:
        path = self.run_dir / "summary.json"
        if not path.exists() or (self.run_dir / "INCOMPLETE").exists():
            return "missing" if not path.exists() else "incomplete"
        return str(json.loads(path.read_text()).get("status", "missing"))

    def stop(self) -> None:
        for proc in (self.runner, self.superlink):
            if proc is not None:
                proc.stop()


def run_foreground(cfg: RunConfig | Any, opts: ServerOptions, say: Callable[[str], None] = print) -> int:
    """``fedflm server start``: until the run ends (or SIGTERM / Ctrl-C); 0 when complete."""
    run = ServerRun(cfg, opts, say)

    def _term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term)
    try:
        run.start()
        run.submit()
        say(f"run submitted; run directory {run.run_dir}")
        status = run.wait(on_row=lambda r: say(_row_text(r)))
    finally:
        run.stop()
        signal.signal(signal.SIGTERM, old)
    report = finish_run(run.run_dir)  # summary warnings as in the report; report.html
    if report is not None:
        say(f"report {report}")
    say(f"run {status}: {run.run_dir}" + ("" if status == "complete" else
                                          f" (ServerApp log: {run.work / 'run.log'})"))
    return 0 if status == "complete" else 1


#: the headline figure of a metrics row: classification, then causal-lm and recommend (issue 25)
HEADLINE = ("accuracy", "perplexity", "auc")


def _row_text(row: dict) -> str:
    name = next((k for k in HEADLINE if k in row), "accuracy")
    parts = [f"round {row.get('round')}", f"{name} {row.get(name, float('nan')):.4f}"]
    if "clients_ok" in row:
        parts.append(f"clients ok {row['clients_ok']}, failed {row.get('clients_failed', 0)}")
    elif row.get("round", 0) > 0:
        parts.append("SKIPPED (too few clients; global model unchanged)")
    if "epsilon_max" in row:
        parts.append(f"epsilon max {row['epsilon_max']:.3f}")
    return "  " + ", ".join(parts)

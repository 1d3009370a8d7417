"""Helpers and fixtures for deployment tests (fixtures re-exported by conftest.py): certificates, owners' encrypted stores, and a
process registry that stops every process a test started, also on failure."""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from fedflm.config import DataConfig, RunConfig
from fedflm.deploy.certs import make_certs
from fedflm.deploy.client import ClientOptions, start_client, write_node_config
from fedflm.deploy.control import CONNECTION, flwr_cmd
from fedflm.deploy.node_supervisor import NodeSupervisor
from fedflm.deploy.procs import Proc, free_port
from fedflm.deploy.server import ServerOptions, ServerRun
from fedflm.fl.client_data import client_partition
from fedflm.owner.settings import OwnerPolicy
from fedflm.protect.keys import write_key_file
from fedflm.protect.store import StoreWriter

NODES = ("node-0", "node-1", "node-2")
ROOT = Path(__file__).resolve().parents[2]  # the repository: importable from any working directory


def wait_for(cond, timeout: float, what: str, poll: float = 0.2):
    """``cond()``'s first truthy value, polled every ``poll`` s; AssertionError after ``timeout`` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def cmdline(proc: psutil.Process) -> str:
    """The command line, or "" for a process that exited (or turned zombie) since it was listed."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def run_submitted(run_dir: Path, timeout: float = 300.0) -> None:
    """Wait until ``fedflm server start --out RUN_DIR`` has registered the owners' keys and submitted its run
    (its SuperLink logs Flower's StartRun, which comes after every key's registration). Tests that start the
    owners' nodes only then spare each node a first attempt that the SuperLink refuses (a SuperNode and its
    SuperExec started for nothing, ~5 CPU s, then the supervisor's back-off); the retry path itself is
    covered by tests/deploy/test_deploy_reconnect.py."""
    log = run_dir / "superlink" / "superlink.log"
    wait_for(lambda: log.exists() and "ControlServicer.StartRun" in log.read_text(errors="replace"), timeout,
             f"the run submitted to the SuperLink ({log})", poll=0.5)


def supernodes(run: ServerRun) -> list[dict]:
    """The SuperLink's node list as ``flwr supernode ls --format json`` prints it (status, online-elapsed,
    offline-at: the expiry of the node's last heartbeat, to the second)."""
    res = flwr_cmd(run.home, "supernode", "ls", CONNECTION, "--format", "json")
    return json.loads(res.stdout[res.stdout.find("{"):])["nodes"]


#: the owners' policy in these tests: a cap (required), and dp none accepted (the fault tests run without DP)
TEST_POLICY = OwnerPolicy(dp_modes=("sample", "none"), max_epsilon=50.0)


@dataclass(frozen=True)
class Owner:
    name: str
    store: Path
    key_file: Path
    state_dir: Path
    auth_key: Path


@pytest.fixture(scope="session")
def deploy_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("certs") / "pki"
    make_certs(out, "127.0.0.1", [*NODES, "rogue"])
    return out


@pytest.fixture(scope="session")
def owner_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Three owners' encrypted stores (SST-2 shards of 24 rows) and their key files."""
    root = tmp_path_factory.mktemp("owners")
    out = {}
    for i, name in enumerate(NODES):
        ds, names = client_partition(DataConfig(dataset="sst2", partition="iid", samples_per_client=24,
                                                eval_samples=64), i, len(NODES), 42)
        key = write_key_file(root / f"{name}.key")
        with StoreWriter(root / f"{name}.store", key, list(names)) as w:
            w.add(list(ds["text"]), list(ds["label"]))
            w.commit()
        out[name] = (root / f"{name}.store", root / f"{name}.key")
    return out


def run_config(tiny_model_dir: Path, out: Path, **over) -> RunConfig:
    flat = {"dataset": "sst2", "model": str(tiny_model_dir), "clients": 3, "min_clients": 3, "rounds": 2,
            "eval_samples": 64, "samples_per_client": 24, "batch_size": 8, "local_steps": 2,
            "max_length": 32, "dp": "none", "round_timeout": 120.0, "seed": 7, "out": str(out),
            "device": "cpu"}
    flat.update(over)
    return RunConfig.from_flat(flat)


class Processes:
    """Everything a test starts; ``stop_all`` runs in the fixture's finalizer."""

    def __init__(self, tmp: Path, certs: Path, stores: dict[str, tuple[Path, Path]]) -> None:
        self.tmp, self.certs, self.stores = tmp, certs, stores
        self.items: list[Proc | ServerRun | NodeSupervisor] = []

    def server(self, cfg: RunConfig, port: int = 0, **opts) -> ServerRun:
        keys = tuple(self.certs / "nodes" / f"{n}.pub" for n in NODES)
        run = ServerRun(cfg, ServerOptions(port=port or free_port(), certs=self.certs, authorized_keys=keys,
                                           env={"OMP_NUM_THREADS": "1"}, **opts), say=lambda s: None)
        self.items.append(run)
        run.start()
        return run

    def owner(self, name: str) -> Owner:
        store, key = self.stores[name]
        return Owner(name, store, key, self.tmp / "state" / name, self.certs / "nodes" / f"{name}.key")

    def client_options(self, address: str, name: str, **opts) -> ClientOptions:
        o = self.owner(name)
        base = dict(server=address, store=o.store, key_file=o.key_file, state_dir=o.state_dir, owner_id=name,
                    ca_cert=self.certs / "ca.pem", auth_key=o.auth_key, policy=TEST_POLICY)
        return ClientOptions(**{**base, **opts})

    def node_config(self, name: str, **opts) -> dict:
        """The node config the SuperNode of ``name`` parses from its command line (Flower's parser)."""
        from flwr.common.config import parse_config_args

        return parse_config_args([str(write_node_config(self.client_options("127.0.0.1:1", name, **opts)))])

    def client(self, run: ServerRun, name: str, warm: bool = True, **opts) -> Proc:
        """The SuperNode of owner ``name`` (``opts`` override its ClientOptions). ``warm``: with the owner's warm
        trainer, as ``fedflm client start`` runs a node (one process imports torch and loads the model for all
        of the node's messages; each message's ClientApp only forwards). ``warm=False``: a bare SuperNode, as
        ``client start --no-warm`` runs it: every message starts a ClientApp process that imports torch (10-13
        CPU s) -- the tests that keep this path covered say so."""
        copts = self.client_options(run.address, name, **opts)
        if not warm:
            proc = start_client(copts, self.tmp / "logs" / f"{name}-{len(self.items)}.log")
            self.items.append(proc)
            return proc
        node = NodeSupervisor(copts, say=lambda s: None)
        self.items.append(node)  # stopped (SuperNode and trainer) at teardown
        return node.start_background()

    def cli(self, name: str, *args: str, cwd: Path | None = None) -> Proc:
        """``fedflm ARGS`` as its own process (stopped with its whole tree at teardown), run in ``cwd``."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        proc = Proc(name, [sys.executable, "-m", "fedflm.cli.main", *args], self.tmp / "logs" / f"{name}.log",
                    env=env, cwd=cwd)
        self.items.append(proc)
        return proc

    def stop_all(self) -> None:
        """Stop every process at once: each ``Proc.stop`` sends SIGTERM and waits up to its grace period, so
        one at a time the waits added up (teardowns of 5-15 s in CI); in parallel they overlap."""
        procs = [p for item in self.items for p in _parts(item) if p is not None]
        with ThreadPoolExecutor(max_workers=max(1, len(procs))) as pool:
            for _ in pool.map(_stop_quietly, procs):
                pass
        for item in self.items:
            if isinstance(item, NodeSupervisor):
                _stop_quietly(item)  # its processes are down: removes the trainer's socket directory


def _parts(item: Proc | ServerRun | NodeSupervisor) -> tuple[Proc | None, ...]:
    if isinstance(item, ServerRun):
        return item.runner, item.superlink
    if isinstance(item, NodeSupervisor):
        return item.proc, item.warm
    return (item,)


def _stop_quietly(proc: Proc | NodeSupervisor) -> None:
    try:
        proc.stop()
    except Exception:  # keep stopping the others
        pass


@pytest.fixture
def processes(tmp_path: Path, deploy_certs: Path, owner_stores) -> Processes:
    procs = Processes(tmp_path, deploy_certs, owner_stores)
    yield procs
    procs.stop_all()

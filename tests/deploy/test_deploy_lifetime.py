"""Process lifetime with the real commands: SIGKILL of `fedflm client start` stops
the owner's SuperNode and a ClientApp in progress (no further ledger entry);
SIGKILL of `fedflm server start` stops the SuperLink and the ServerApp (the
port closes). Nothing Flower started survives its fedflm parent."""

from __future__ import annotations

import os
import signal
import socket
import time

import psutil
import pytest

from deploy_support import NODES, cmdline, run_submitted, wait_for
from fedflm.deploy.procs import free_port

pytestmark = pytest.mark.slow


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _running(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(" ".join(p.cmdline())[:120])
        except psutil.NoSuchProcess:
            pass
    return out


def _with(procs: list[psutil.Process], name: str) -> bool:
    return any(name in cmdline(p) for p in procs)


def _mentioning(text: str) -> list[str]:
    """Every live process anywhere whose command line mentions ``text``."""
    return [c[:120] for c in map(cmdline, psutil.process_iter()) if text in c]


def _ledger_entries(path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigkill_of_client_start_then_of_server_start_stops_each_ones_flower_processes(
        processes, tiny_model_dir, tmp_path):
    # Prepare: `fedflm server start` and one owner's `fedflm client start` with sample-level DP; the
    # owner's node is training when its wrapper dies, and the server's run is still going when its own does.
    # (One server for both checks: starting a SuperLink and a ServerApp is most of each check's time)
    certs, port, out = processes.certs, free_port(), tmp_path / "run"
    server = processes.cli("server", "server", "start", "--certs", str(certs), "--authorized-keys",
                           str(certs / "nodes"), "--port", str(port), "--dataset", "sst2", "--model",
                           str(tiny_model_dir), "--clients", "1", "--min-clients", "1", "--rounds", "3",
                           "--eval-samples", "64", "--samples-per-client", "24", "--batch-size", "8",
                           "--local-steps", "20", "--max-length", "32", "--dp", "sample", "--epsilon", "8",
                           "--round-timeout", "300", "--device", "cpu", "--out", str(out))
    o = processes.owner(NODES[0])
    run_submitted(out)  # keys registered: the node joins at its first attempt
    client = processes.cli("client", "client", "start", "--server", f"127.0.0.1:{port}",
                           "--ca-cert", str(certs / "ca.pem"), "--auth-key", str(o.auth_key),
                           "--store", str(o.store), "--key-file", str(o.key_file),
                           "--state-dir", str(o.state_dir), "--owner-id", o.name, "--max-epsilon", "50")
    wait_for(lambda: _with(_tree(client.pid), "flwr-clientapp"), 300, "the owner's ClientApp")
    tree = _tree(client.pid)
    ledger_path = o.state_dir / o.name / "ledger.jsonl"
    before = _ledger_entries(ledger_path)

    # Execute: kill -9 of the owner's wrapper
    os.kill(client.pid, signal.SIGKILL)

    # Assert: the SuperNode, its SuperExec and the ClientApp are gone within seconds...
    wait_for(lambda: not _running(tree), 15, f"the node's processes to end: {_running(tree)}")
    assert not _mentioning(str(o.state_dir)), _mentioning(str(o.state_dir))
    # ...and nothing more is trained on the owner's data (the server is still there, asking). The round the
    # ClientApp was in trains 20 steps of the tiny model; 8 s is ample for a survivor to have written its entry
    # (it was 20 s: nothing of the node is left to write one by then -- checked just above -- so the wait only
    # guards against a process this test cannot see, and 12 s of it was idle wall time in every CI run)
    time.sleep(8)
    assert _ledger_entries(ledger_path) == before
    assert not _mentioning(str(o.state_dir))

    # Execute: kill -9 of the operator's wrapper, its ServerApp still running the round
    server_tree = _tree(server.pid)
    assert server.poll() is None and _with(server_tree, "flwr-serverapp"), _running(server_tree)
    os.kill(server.pid, signal.SIGKILL)

    # Assert: SuperLink, SuperExec, ServerApp and `flwr run` are gone; the port is closed
    wait_for(lambda: not _running(server_tree), 15, f"the server's processes to end: {_running(server_tree)}")
    assert not _mentioning(str(out)), _mentioning(str(out))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

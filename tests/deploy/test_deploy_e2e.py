"""End to end on loopback with the real commands: `fedflm server start` (SuperLink,
TLS + SuperNode authentication) and three `fedflm client start` (SuperNodes on
the owners' encrypted stores, sample-level DP), all separate processes, each
started in its own working directory with *relative* paths, as the guides show."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from deploy_support import NODES, run_submitted
from fedflm.deploy.checkpoint import load_checkpoint
from fedflm.deploy.procs import free_port
from fedflm.privacy import ledger
from fedflm.protect.keys import read_key_file
from fedflm.report.findings import INSECURE_TRANSPORT_WARNING
from fedflm.report.html import write_report

pytestmark = pytest.mark.slow


def _wait_exit(proc, timeout: float) -> int | None:
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.5)
    return proc.poll()


def test_server_start_and_three_client_starts_over_tls(processes, tiny_model_dir, tmp_path):
    # Prepare: the operator works in tmp/operator, each owner in tmp/NAME; every path is relative
    operator = tmp_path / "operator"
    operator.mkdir()
    out, port, certs = operator / "runs" / "fed1", free_port(), processes.certs
    rel = os.path.relpath
    keys = [a for n in NODES for a in ("--authorized-keys", rel(certs / "nodes" / f"{n}.pub", operator))]
    server = processes.cli("server", "server", "start", "--certs", rel(certs, operator), *keys, "--port", str(port),
                           "--dataset", "sst2", "--model", str(tiny_model_dir), "--clients", "3",
                           "--min-clients", "3", "--rounds", "2", "--eval-samples", "64", "--batch-size", "8",
                           "--local-steps", "2", "--max-length", "32", "--dp", "sample", "--epsilon", "8",
                           "--round-timeout", "120", "--device", "cpu", "--out", "runs/fed1", cwd=operator)
    run_submitted(out)  # keys registered: each node joins at its first attempt
    clients = []
    for name in NODES:
        o, home = processes.owner(name), tmp_path / name
        home.mkdir()
        clients.append(processes.cli(f"client-{name}", "client", "start", "--server", f"127.0.0.1:{port}",
                                     "--ca-cert", rel(certs / "ca.pem", home), "--auth-key", rel(o.auth_key, home),
                                     "--store", rel(o.store, home), "--key-file", rel(o.key_file, home),
                                     "--state-dir", rel(o.state_dir, home), "--owner-id", name,
                                     "--max-epsilon", "20", cwd=home))

    # Execute
    code = _wait_exit(server, 300)
    helpers = [k for c in clients for k in psutil.Process(c.pid).children(recursive=True)]
    for c in clients:
        c.popen.send_signal(signal.SIGTERM)
    client_codes = [_wait_exit(c, 30) for c in clients]

    # Assert: the server ran both rounds with all three owners and stopped its processes
    assert code == 0, server.log_text()[-3000:]
    assert "TLS + node auth" in server.log_text() and "3 node key(s) registered" in server.log_text()
    assert f"run complete: {out}" in server.log_text()  # written where --out said, nowhere else
    assert not (out / "superlink" / "runs").exists()
    assert (out / "report.html").is_file() and f"report {out / 'report.html'}" in server.log_text()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["clients_ok"] for r in rows[1:]] == [3, 3] and rows[-1]["epsilon_max"] > 0
    summary = json.loads((out / "summary.json").read_text())
    # the final accuracy is the confusion matrix's diagonal over the 64 held-out examples
    matrix = summary["confusion_matrix"]
    assert sum(map(sum, matrix)) == 64
    assert rows[-1]["accuracy"] == pytest.approx(sum(matrix[k][k] for k in range(len(matrix))) / 64)
    assert summary["status"] == "complete" and summary["rounds"] == 2
    assert summary["transport"] == "tls"
    assert INSECURE_TRANSPORT_WARNING not in write_report(out).read_text(encoding="utf-8")
    assert (out / "adapter").is_dir() and not (out / "INCOMPLETE").exists()
    ckpt = load_checkpoint(out, read_key_file(certs / "checkpoint.key"))
    assert ckpt.round == 2 and [r["round"] for r in ckpt.rows] == [0, 1, 2]
    # ...the owners' ledgers live on the owners' side, two rounds each, under their caps
    for name in NODES:
        entries = ledger.verify(processes.owner(name).state_dir / name / "ledger.jsonl")
        assert [e["round"] for e in entries] == [1, 2] and entries[-1]["owner_id"] == name
        assert entries[-1]["epsilon_cap"] == 20.0
    # ...and SIGTERM stopped every node cleanly, helpers included
    assert client_codes == [0, 0, 0]
    assert not [p for p in helpers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


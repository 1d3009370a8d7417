"""Nodes that outlive the SuperLink, with the real `fedflm client start`: a node
started before anything listens on the server's port gives the one-line
diagnosis, joins once the server is up, survives the end of that run and a new
SuperLink (new state, so its old node id is refused with 401), joins again and
serves the next run; SIGTERM stops it cleanly once no server is left to reach. (One node for all of it: its
start and a server's start are most of the time.)"""

from __future__ import annotations

import json
import signal

import pytest

from deploy_support import NODES, run_config, wait_for
from fedflm.deploy.procs import free_port

pytestmark = pytest.mark.slow


def _client_cli(processes, server: str, name: str = NODES[0]):
    o = processes.owner(name)
    return processes.cli(f"client-{name}", "client", "start", "--server", server,
                         "--ca-cert", str(processes.certs / "ca.pem"), "--auth-key", str(o.auth_key),
                         "--store", str(o.store), "--key-file", str(o.key_file),
                         "--state-dir", str(o.state_dir), "--owner-id", name, "--max-epsilon", "50",
                         "--allow-dp", "none")  # these runs train without DP


def test_node_diagnoses_a_port_nobody_listens_on_then_survives_a_new_superlink_and_serves_the_next_run(
        processes, tiny_model_dir, tmp_path):
    # Prepare: the owner starts first, while nothing listens on the server's port yet
    port = free_port()
    client = _client_cli(processes, f"127.0.0.1:{port}")
    line = f"diagnosis after 3 failed attempts: connection refused at 127.0.0.1:{port}"
    wait_for(lambda: line in client.log_text(), 240, "the diagnosis line")

    # Execute: run A with this owner alone, to the end, on that port
    first = processes.server(run_config(tiny_model_dir, tmp_path / "a", clients=1, min_clients=1, rounds=1),
                             port=port)
    refused = client.log_text()  # everything the node said before any server listened
    first.submit()
    assert first.wait(timeout=300) == "complete", (first.work / "run.log").read_text()[-2000:]

    # Assert: the states were announced once each, then the diagnosis (once), while nothing listened
    assert refused.count(f"connecting to 127.0.0.1:{port}") >= 1
    assert refused.count("refused (no connection)") >= 1 and refused.count(line) == 1

    # Execute: the operator stops A and starts run B on a NEW SuperLink (new state) on the same port
    first.stop()
    second = processes.server(run_config(tiny_model_dir, tmp_path / "b", clients=1, min_clients=1, rounds=1,
                                         round_timeout=240.0), port=port)
    second.submit()
    status = second.wait(timeout=400)

    # Assert: the same node process served run B's round 1, after saying it reconnected
    assert status == "complete", (second.work / "run.log").read_text()[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert rows[1]["round"] == 1 and rows[1]["clients_ok"] == 1
    assert client.poll() is None
    log = client.log_text()
    assert log.count("connected; waiting for a run") >= 2 and "disconnected (" in log, log

    # Execute: the server goes away for good, and the owner stops the node while it cannot reach it
    second.stop()
    client.popen.send_signal(signal.SIGTERM)

    # Assert: SIGTERM of a node whose SuperNode cannot reach the server is a clean stop
    assert client.popen.wait(timeout=60) == 0 and f"node {NODES[0]}: stopping" in client.log_text()

"""Nodes that outlive the SuperLink, with the real `fedflm client start`: a node
survives the end of one run and a new SuperLink (new state, so its old node id
is refused with 401), joins again and serves the next run; a wrong port gives
the one-line diagnosis."""

from __future__ import annotations

import json
import signal

import pytest

from deploy_support import NODES, run_config, wait_for
from fedflm.deploy.procs import free_port

pytestmark = pytest.mark.slow


def _client_cli(processes, server: str, *extra: str, name: str = NODES[0]):
    o = processes.owner(name)
    return processes.cli(f"client-{name}", "client", "start", "--server", server,
                         "--ca-cert", str(processes.certs / "ca.pem"), "--auth-key", str(o.auth_key),
                         "--store", str(o.store), "--key-file", str(o.key_file),
                         "--state-dir", str(o.state_dir), "--owner-id", name, "--max-epsilon", "50",
                         "--allow-dp", "none", *extra)  # these runs train without DP


def test_wrong_port_prints_connection_refused_diagnosis(processes):
    # Prepare: nothing listens on this port
    port = free_port()

    # Execute: one connection retry per SuperNode start (the default 4 cost ~15 s of Flower's back-off per attempt);
    # a bare SuperNode (--no-warm): the diagnosis is the supervisor's, and a warm trainer would import torch and
    # load the model for nothing here (~9 CPU s, issue 19)
    client = _client_cli(processes, f"127.0.0.1:{port}", "--connect-retries", "1", "--no-warm")
    line = f"diagnosis after 3 failed attempts: connection refused at 127.0.0.1:{port}"
    wait_for(lambda: line in client.log_text(), 240, "the diagnosis line")
    client.popen.send_signal(signal.SIGTERM)
    code = client.popen.wait(timeout=60)

    # Assert: the states were announced once each, then the diagnosis (once), and SIGTERM is a clean stop
    log = client.log_text()
    assert log.count(f"connecting to 127.0.0.1:{port}") >= 1
    assert log.count("refused (no connection)") >= 1 and log.count(line) == 1
    assert code == 0 and f"node {NODES[0]}: stopping" in log


def test_node_survives_a_new_superlink_and_serves_the_next_run(processes, tiny_model_dir, tmp_path):
    # Prepare: run A with one owner, to the end
    first = processes.server(run_config(tiny_model_dir, tmp_path / "a", clients=1, min_clients=1, rounds=1))
    client = _client_cli(processes, first.address)
    first.submit()
    assert first.wait(timeout=300) == "complete", (first.work / "run.log").read_text()[-2000:]

    # Execute: the operator stops A and starts run B on a NEW SuperLink (new state) on the same port
    first.stop()
    second = processes.server(run_config(tiny_model_dir, tmp_path / "b", clients=1, min_clients=1, rounds=1,
                                         round_timeout=240.0), port=first.opts.port)
    second.submit()
    status = second.wait(timeout=400)

    # Assert: the same node process served run B's round 1, after saying it reconnected
    assert status == "complete", (second.work / "run.log").read_text()[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert rows[1]["round"] == 1 and rows[1]["clients_ok"] == 1
    assert client.poll() is None
    log = client.log_text()
    assert log.count("connected; waiting for a run") >= 2 and "disconnected (" in log, log

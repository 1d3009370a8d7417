"""Node authentication and TLS on loopback: a SuperNode whose key was not
registered is refused; one that does not trust the server's CA cannot connect;
a registered one with the CA comes online. With that one node alone (below
min_clients) the run skips rounds and ends cleanly after --max-skipped-rounds."""

from __future__ import annotations

import json
import time

import pytest

from deploy_support import run_config, supernodes
from fedflm.deploy.certs import make_certs

pytestmark = pytest.mark.slow


def _wait_exit(proc, timeout: float = 60.0) -> int | None:
    end = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.2)
    return proc.poll()


def _online_nodes(run) -> int:
    return sum(1 for n in supernodes(run) if n.get("status") == "online")


def test_unregistered_key_and_foreign_ca_refused_registered_node_joins_too_few_end_cleanly(
        processes, tiny_model_dir, tmp_path):
    # Prepare: a SuperLink that knows node-0..2 only; another CA the server's cert is not from
    out = tmp_path / "run"
    run = processes.server(run_config(tiny_model_dir, out, rounds=3, min_clients=2, round_timeout=5.0),
                           max_skipped_rounds=1)
    other = make_certs(tmp_path / "other-pki", "127.0.0.1")

    # Execute: bare SuperNodes (`client start --no-warm`): nothing trains here, so no warm trainer is needed
    rogue = processes.client(run, "node-0", warm=False, auth_key=processes.certs / "nodes" / "rogue.key",
                             max_retries=1, max_wait_time=20)
    no_ca = processes.client(run, "node-1", warm=False, ca_cert=other.ca_cert, max_retries=1, max_wait_time=20)
    good = processes.client(run, "node-2", warm=False)
    rogue_code, no_ca_code = _wait_exit(rogue), _wait_exit(no_ca)

    # Assert
    assert rogue_code not in (None, 0)
    assert "Failed to activate SuperNode" in rogue.log_text()
    assert no_ca_code not in (None, 0)
    assert "CERTIFICATE_VERIFY_FAILED" in no_ca.log_text()
    end = time.monotonic() + 60
    while _online_nodes(run) < 1 and time.monotonic() < end:
        time.sleep(0.5)
    assert good.poll() is None and _online_nodes(run) == 1

    # Execute: a run needing 2 clients with only this one connected
    run.submit()
    status = run.wait(timeout=300)

    # Assert: rounds 1 and 2 skipped, then a clean stop with the reason recorded
    summary = json.loads((out / "summary.json").read_text())
    assert status == "incomplete" and summary["status"] == "incomplete"
    assert "fewer than min_clients=2 clients for 2 rounds in a row" in summary["stopped"]
    assert any("rounds skipped" in w and "[1, 2]" in w for w in summary["warnings"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1] and "clients_ok" not in rows[1]

"""The owner's warm trainer: a message forwarded by the light ClientApp over the
trainer's Unix socket gives exactly the reply of fedflm's per-message ClientApp
(same adapter, same example count, ledger entry written), and the socket is
private to the owner (0600)."""

from __future__ import annotations

import stat
import threading
import time

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Message, Metadata, RecordDict

from deploy_support import run_config
from fedavg_reference import client_update, initial_adapter
from fedflm.deploy import warm
from fedflm.deploy.warm_clientapp import WARM_SOCKET
from fedflm.deploy.warm_clientapp import train as forward_train
from fedflm.fl.arrays import from_record, to_record
from fedflm.privacy import ledger

pytestmark = pytest.mark.slow  # loads torch + a (tiny) model in-process


def _message(cfg, arrays, server_round: int) -> Message:
    config = ConfigRecord({**cfg.to_run_config(), "server-round": server_round})
    meta = Metadata(run_id=1, message_id="m", src_node_id=0, dst_node_id=1, reply_to_message_id="",
                    group_id=str(server_round), created_at=time.time(), ttl=3600.0, message_type="train")
    return Message(RecordDict({"arrays": to_record(arrays), "config": config}), metadata=meta)


def test_forwarded_round_equals_the_per_message_round_and_socket_is_private(processes, tiny_model_dir, tmp_path):
    # Prepare: sample-level DP with reproducible noise (secure mode off, owner's seed) for an exact comparison
    cfg = run_config(tiny_model_dir, tmp_path / "run", dp="sample", noise_multiplier=1.0, epsilon="")
    owner_cfg = processes.node_config("node-0", secure_mode=False, seed=11)
    sock = warm.socket_dir() / "trainer.sock"
    threading.Thread(target=warm.serve, args=(owner_cfg, sock), daemon=True).start()
    start = initial_adapter(cfg, ("negative", "positive"))
    expected, n_expected = client_update(cfg, processes.node_config("node-0", secure_mode=False, seed=11,
                                                                     state_dir=tmp_path / "ref"), start, 1)

    # Execute: the light ClientApp forwards the message (its own node config names only the socket)
    ctx = Context(run_id=1, node_id=1, node_config={**owner_cfg, WARM_SOCKET: str(sock)}, state=RecordDict(),
                  run_config={})
    reply = forward_train(_message(cfg, start, 1), ctx)

    # Assert
    assert not reply.has_error(), reply.error
    got = from_record(reply.content["arrays"])
    metrics = reply.content["metrics"]  # FedAvg weight: uniform under DP, as fedavg_reference reads it
    assert int(metrics.get("num-examples", metrics.get("dp-unit-weight", 0))) == n_expected
    assert max(float(np.max(np.abs(got[k] - expected[k]))) for k in got) < 1e-6
    entries = ledger.verify(processes.owner("node-0").state_dir / "node-0" / "ledger.jsonl")
    assert [e["round"] for e in entries] == [1]
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600 and stat.S_IMODE(sock.parent.stat().st_mode) == 0o700

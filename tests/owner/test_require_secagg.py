"""issue 21: an owner whose policy says ``require-secagg`` trains only inside secure aggregation. A plain train
request (a run without ``--secagg``) is refused with the typed code ``secagg`` before anything is trained or
spent; the same owner takes part in a SecAgg+ round (Flower's workflow and mod, real train messages)."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, RecordDict

import clients.app as client_app
from fedflm.bench.local_grid import LocalGrid
from fedflm.config import RunConfig
from fedflm.errors import PolicyRefused
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg import SecAggFedAvg
from fedflm.fl.secagg_client import secagg_mod
from fedflm.models.lora import build_model, get_adapter_state
from fedflm.owner.policy import check_request
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy import ledger
from owner_support import LABELS, make_node, make_store, request, spy_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

REQUIRES = OwnerPolicy(max_epsilon=20.0, max_rounds=3, require_secagg=True)


@pytest.fixture
def _server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from flwr.supercore.task_identity import TaskIdentity
    monkeypatch.setattr(TaskIdentity, "_run_id", 7)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)


@pytest.mark.parametrize("require, run_secagg, masked, code", [
    (True, False, False, Refusal.SECAGG),  # the owner requires it, the run does not ask for it
    (False, True, False, Refusal.REQUEST),  # the run asks for it, the request bypasses it
    (True, True, False, Refusal.REQUEST),
    (True, True, True, None),
    (True, False, True, None),  # it came through SecAgg+: only masked values leave
    (False, False, False, None),
])
def test_which_plain_requests_are_refused(require, run_secagg, masked, code):
    # Prepare
    policy = OwnerPolicy(max_epsilon=20.0, require_secagg=require)
    cfg = RunConfig.from_flat({"clients": 3, "secagg": run_secagg, "dp": "sample"})

    # Execute
    try:
        check_request(policy, cfg, deployed=False, masked=masked)
        got = None
    except PolicyRefused as exc:
        got = exc.code

    # Assert
    assert got == code


def test_a_plain_request_to_an_owner_that_requires_secagg_is_refused_before_training(
        tmp_path, sst2_sample, tiny_model_dir, monkeypatch):
    # Prepare: a deployed owner that requires secure aggregation; an honest DP run without --secagg
    node = make_node(tmp_path, make_store(tmp_path, sst2_sample[:40]), REQUIRES)
    spy_training(monkeypatch, node)

    # Execute
    reply = node.send(request(tiny_model_dir), 1)

    # Assert: typed refusal, no content, nothing trained, no ledger entry; the owner's console says why
    assert reply.has_error() and reply.error.code == int(Refusal.SECAGG), reply.error.reason
    assert "requires secure aggregation" in reply.error.reason and not reply.has_content()
    assert node.trained == [] and node.ledger_bytes() == b""
    assert "REFUSED run 'run-a' round 1 (SECAGG)" in node.console.read_text()


@pytest.mark.usefixtures("_server_identity")
def test_owners_that_require_secagg_train_a_secagg_round_and_send_only_masked_values(
        tmp_path, sst2_sample, tiny_model_dir):
    # Prepare: three deployed owners requiring secagg, each behind fedflm's SecAgg+ mod, driven by the server's
    # SecAgg+ strategy with the real run config of a --secagg run
    nodes = [make_node(tmp_path / f"o{i}", make_store(_mkdir(tmp_path / f"o{i}"), sst2_sample[40 * i:40 * i + 40]),
                       REQUIRES) for i in range(3)]
    cfg = request(tiny_model_dir, clients=3, secagg=True)
    grid = LocalGrid({100 + i: lambda msg, ctx: secagg_mod(msg, ctx, client_app.train) for i in range(3)})
    for i, n in enumerate(nodes):
        grid.contexts[100 + i] = Context(run_id=grid.run_id, node_id=100 + i, node_config=n.node_config,
                                         state=RecordDict(), run_config={})
    initial = get_adapter_state(build_model(cfg.model, LABELS, cfg.fed.seed))
    strategy = SecAggFedAvg(cfg, fraction_train=1.0, min_train_nodes=3, min_available_nodes=3)

    # Execute
    result = strategy.start(grid, to_record(initial), num_rounds=1, train_config=ConfigRecord(cfg.to_run_config()))

    # Assert: every owner trained and spent once (ledger), no reply carried a tensor, the global adapter moved
    assert [len(ledger.verify(n.ledger)) for n in nodes] == [1, 1, 1]
    assert not any(m.has_error() for m in grid.seen)
    assert all(len(arr) == 0 for m in grid.seen for arr in m.content.array_records.values())
    after = from_record(result.arrays)
    assert max(float(np.max(np.abs(after[k] - initial[k]))) for k in initial) > 0


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path

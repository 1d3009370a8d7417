"""A malicious server against a data owner's node: every request that breaks the owner's
policy is refused with a typed code -- nothing trained, nothing sent, ledger bytes unchanged --
and the owner's console says why. What an accepted round sends is privatized or coarse."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy import ledger
from owner_support import make_node, make_store, request, spy_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

POLICY = OwnerPolicy(max_epsilon=20.0, max_rounds=3, min_noise_multiplier=0.5)


@pytest.fixture
def store(tmp_path, sst2_sample):
    return make_store(tmp_path, sst2_sample[:40])


@pytest.fixture
def node(tmp_path, store, monkeypatch):
    n = make_node(tmp_path, store, POLICY)
    spy_training(monkeypatch, n)
    return n


@pytest.fixture(scope="module")
def one_round_state(tmp_path_factory, sst2_sample, tiny_model_dir):
    """An owner that trained one honest round (its store and state), made once for the module."""
    home = tmp_path_factory.mktemp("trained")
    store = make_store(home, sst2_sample[:40])
    assert not make_node(home, store, POLICY).send(request(tiny_model_dir), 1).has_error()
    return home, store


@pytest.fixture
def trained_node(tmp_path, one_round_state, monkeypatch):
    home, store = one_round_state
    shutil.copytree(home / "state", tmp_path / "state")
    n = make_node(tmp_path, store, POLICY)
    spy_training(monkeypatch, n)
    return n


def _assert_refused(reply, code: Refusal) -> None:
    assert reply.has_error(), "the node trained and replied"
    assert reply.error.code == int(code), reply.error.reason
    assert not reply.has_content()  # no tensor, no number


@pytest.mark.parametrize("attack, code", [
    ({"dp": "none"}, Refusal.DP_MODE),
    ({"dp": "client"}, Refusal.DP_MODE),
    ({"delta": 0.5}, Refusal.DELTA),
    ({"rounds": 50}, Refusal.ROUNDS),
    ({"accountant": "prv"}, Refusal.ACCOUNTANT),
    ({"noise_multiplier": 0.05, "epsilon": ""}, Refusal.NOISE),
])
def test_a_run_that_breaks_the_policy_is_refused_and_nothing_changes(trained_node, tiny_model_dir, attack, code):
    # Prepare: the owner trained one honest round before, so its ledger is not empty
    node = trained_node
    before, trained = node.ledger_bytes(), len(node.trained)
    assert before

    # Execute
    reply = node.send(request(tiny_model_dir, run_id="run-evil", **attack), 1)

    # Assert: nothing trained, nothing sent, the ledger byte for byte as it was; the console says why
    _assert_refused(reply, code)
    assert len(node.trained) == trained and node.ledger_bytes() == before
    assert f"REFUSED run 'run-evil' round 1 ({code.name})" in node.console.read_text()


def test_models_and_tasks_outside_the_owners_list_are_refused(tmp_path, store, tiny_model_dir, monkeypatch):
    # Prepare
    n = make_node(tmp_path, store, OwnerPolicy(max_epsilon=20.0, models=("minilm",), tasks=("banking77",)))
    spy_training(monkeypatch, n)

    # Execute
    wrong_model = n.send(request(tiny_model_dir), 1)
    n2 = make_node(tmp_path / "b", store, OwnerPolicy(max_epsilon=20.0, models=(str(tiny_model_dir),),
                                                      tasks=("banking77",)))
    wrong_task = n2.send(request(tiny_model_dir), 1)

    # Assert
    _assert_refused(wrong_model, Refusal.MODEL)
    _assert_refused(wrong_task, Refusal.TASK)
    assert n.trained == [] and n.ledger_bytes() == b""


def test_opt_in_lets_the_owner_accept_dp_none(tmp_path, store, tiny_model_dir, monkeypatch):
    # Prepare
    n = make_node(tmp_path, store, OwnerPolicy(max_epsilon=20.0, dp_modes=("sample", "none")))

    # Execute
    reply = n.send(request(tiny_model_dir, dp="none"), 1)

    # Assert: trained (no DP, as the owner chose), nothing written to its ledger
    assert not reply.has_error() and n.ledger_bytes() == b""


def test_more_rounds_than_the_policy_allows_are_refused(trained_node, tiny_model_dir):
    # Prepare: the server announces 3 rounds (the policy's maximum), then keeps sending
    cfg = request(tiny_model_dir)
    for r in (2, 3):
        assert not trained_node.send(cfg, r).has_error()
    before = trained_node.ledger_bytes()

    # Execute
    reply = trained_node.send(cfg, 4)

    # Assert
    _assert_refused(reply, Refusal.ROUNDS)
    assert trained_node.ledger_bytes() == before and len(trained_node.trained) == 2


def test_a_round_past_the_cap_is_refused(tmp_path, store, tiny_model_dir):
    # Prepare: a fixed, small noise multiplier spends more than the cap in one round
    n = make_node(tmp_path, store, OwnerPolicy(max_epsilon=0.5, min_noise_multiplier=0.5))

    # Execute
    reply = n.send(request(tiny_model_dir, noise_multiplier=0.6, epsilon=""), 1)

    # Assert
    _assert_refused(reply, Refusal.BUDGET)
    assert n.ledger_bytes() == b"" and "(BUDGET)" in n.console.read_text()


def test_a_replayed_round_is_refused_for_that_message_only(trained_node, tiny_model_dir):
    # Prepare: round 1 of run-a is in the owner's ledger
    node, cfg = trained_node, request(tiny_model_dir)
    before = node.ledger_bytes()

    # Execute: the same (run, round) again, then the next round
    replay = node.send(cfg, 1)
    nxt = node.send(cfg, 2)

    # Assert: the replay changed nothing; the ledger still verifies and the next round trains
    _assert_refused(replay, Refusal.REPLAY)
    assert len(node.trained) == 1
    assert not nxt.has_error()
    entries = ledger.verify(node.ledger, recompute=True)
    assert [e["round"] for e in entries] == [1, 2] and node.ledger_bytes().startswith(before)


def test_only_privatized_or_coarse_numbers_leave(node, tiny_model_dir):
    # Execute
    reply = node.send(request(tiny_model_dir), 1)

    # Assert: no loss, no count, no steps, no timing, no ledger text; the head commits to the ledger
    metrics = dict(reply.content["metrics"])
    assert set(metrics) == {"dp-unit-weight", "partition-id", "epsilon"} and metrics["dp-unit-weight"] == 1
    privacy = dict(reply.content["privacy"])
    last_line = node.ledger.read_bytes().rstrip(b"\n").split(b"\n")[-1]
    assert privacy == {"owner-id": "clinic-a", "ledger-head": hashlib.sha256(last_line).hexdigest()}
    exact = ledger.verify(node.ledger)[-1]["epsilon"]
    assert exact <= metrics["epsilon"] < exact + 0.01 + 1e-9  # rounded up, never down
    assert "run 'run-a'" in node.console.read_text() and "noise" in node.console.read_text()


def test_the_owner_may_publish_its_ledger_for_an_audit(tmp_path, store, tiny_model_dir):
    # Prepare
    n = make_node(tmp_path, store, OwnerPolicy(max_epsilon=20.0, publish_ledger=True))

    # Execute
    reply = n.send(request(tiny_model_dir), 1)

    # Assert
    assert reply.content["privacy"]["ledger"] == n.ledger.read_text()


def test_the_node_plans_at_its_own_delta_and_cap_not_the_servers(tmp_path, store, tiny_model_dir):
    # Prepare: the server asks for epsilon 1000 (above the cap 20) and a tiny delta
    node = make_node(tmp_path, store, OwnerPolicy(max_epsilon=20.0, min_noise_multiplier=0.1))
    cfg = request(tiny_model_dir, epsilon=1000.0, delta=1e-9)

    # Execute
    reply = node.send(cfg, 1)

    # Assert: recorded at the owner's delta, and the plan keeps the whole run under the cap
    assert not reply.has_error(), reply.error
    entry = ledger.verify(node.ledger)[-1]
    assert entry["delta"] == 1e-5 and entry["epsilon_cap"] == 20.0
    assert "epsilon <= 20" in node.console.read_text()


def test_a_malformed_request_is_refused_as_such(node, tiny_model_dir):
    # Execute: a run config key the node does not know
    reply = node.send(request(tiny_model_dir), 1, extra={"steal-data": "yes"})

    # Assert
    _assert_refused(reply, Refusal.REQUEST)
    assert "unknown config key 'steal-data'" in reply.error.reason and node.trained == []


@pytest.mark.parametrize("extra, dp_modes, code", [
    ({"resample": "oversample"}, ("sample",), Refusal.REQUEST),  # duplicates would count twice in q
    ({"resample": "oversample", "dp": "none"}, ("sample",), Refusal.DP_MODE),  # the owner keeps its DP
])
def test_oversampling_under_the_owners_dp_is_a_typed_refusal(tmp_path, store, tiny_model_dir, monkeypatch,
                                                              extra, dp_modes, code):
    # Prepare: a server asks for oversampling (issue 22), which DP-SGD refuses
    node = make_node(tmp_path, store, OwnerPolicy(dp_modes=dp_modes, max_epsilon=20.0))
    spy_training(monkeypatch, node)

    # Execute
    reply = node.send(request(tiny_model_dir), 1, extra=extra)

    # Assert: typed data, not a crash; nothing trained, no ledger entry
    _assert_refused(reply, code)
    assert node.trained == [] and node.ledger_bytes() == b""
    assert ("oversample" if code == Refusal.REQUEST else "dp='none'") in reply.error.reason

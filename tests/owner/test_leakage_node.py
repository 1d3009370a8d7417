"""The owner's side of the leakage check (issue 22) on a real node: records planted in the server's
evaluation set are found with keyed hashes computed at the node, excluded before the DP plan (q uses
the kept count), or refused; only the overlap count leaves, never a text or an owner's hash, and
only when the owner's policy shares it: by default a node excludes matches and sends nothing."""

from __future__ import annotations

import pytest

from fedflm.data import leakage
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy import ledger
from owner_support import make_node, make_store, request, spy_training

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PLANTED = 5  # round 1 without the prototype round (proto_fraction 0): DP-SGD, whose q the ledger records


@pytest.fixture
def rows(sst2_sample):
    return sst2_sample[:40]


@pytest.fixture
def node(tmp_path, rows, monkeypatch):
    n = make_node(tmp_path, make_store(tmp_path, rows), OwnerPolicy(max_epsilon=20.0, share_leakage_count=True))
    spy_training(monkeypatch, n)
    return n


@pytest.fixture
def private_node(tmp_path, rows, monkeypatch):
    """An owner with the default policy: no leakage count leaves its node."""
    n = make_node(tmp_path, make_store(tmp_path, rows), OwnerPolicy(max_epsilon=20.0))
    spy_training(monkeypatch, n)
    return n


def _record(rows) -> dict:
    """The server's evaluation set: other texts, plus PLANTED of the owner's records re-cased and re-spaced."""
    planted = ["  " + t.upper().replace(" ", "\t") + " !" for t, _ in rows[:PLANTED]]
    return leakage.to_record(leakage.new_run_key(), planted + ["an unrelated evaluation text"] * 3)


def _warned(caplog) -> list[str]:
    """The node's leakage-check warnings (one per round that found matches)."""
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("leakage check:")]


def _strings(reply) -> list:
    """Every string and bytes value in a reply's records."""
    out = []
    for name in reply.content.keys():
        rec = reply.content[name]
        values = rec.values() if hasattr(rec, "values") else []
        out += [v for v in values if isinstance(v, (str, bytes))]
    return out


def test_planted_duplicates_are_excluded_before_the_dp_plan(node, rows, tiny_model_dir, caplog):
    # Prepare
    record = _record(rows)
    caplog.set_level("WARNING", logger="fedflm.client")

    # Execute
    reply = node.send(request(tiny_model_dir, on_leakage="exclude", proto_fraction=0), 1, extra=record)

    # Assert: the count is reported, training ran on the 35 kept rows, and q = batch / kept
    assert not reply.has_error(), reply.error.reason
    assert reply.content["metrics"]["leakage-overlap"] == PLANTED and node.trained == [1]
    entry = ledger.verify(node.ledger)[-1]
    assert entry["sample_rate"] == pytest.approx(8 / (len(rows) - PLANTED))
    assert _warned(caplog) == [f"leakage check: {PLANTED} of {len(rows)} records are in the server's "
                               "evaluation set; excluded from this run"]


def test_no_plaintext_and_no_owner_hash_leaves(node, rows, tiny_model_dir, caplog):
    # Prepare
    record = _record(rows)
    caplog.set_level("WARNING", logger="fedflm.client")
    key, _ = leakage.from_record(record)
    own = {leakage.digest(key, t) for t, _ in rows}

    # Execute
    reply = node.send(request(tiny_model_dir, on_leakage="warn", proto_fraction=0), 1, extra=record)

    # Assert: warn trains on all 40 rows; no record text, no digest of the owner's in any value
    assert reply.content["metrics"]["leakage-overlap"] == PLANTED
    assert ledger.verify(node.ledger)[-1]["sample_rate"] == pytest.approx(8 / len(rows))
    values = _strings(reply)
    for text, _ in rows:
        assert not any(text in v for v in values if isinstance(v, str))
    assert not any(d in v for d in own for v in values if isinstance(v, bytes))
    assert len(_warned(caplog)) == 1 and _warned(caplog)[0].endswith("; kept: --on-leakage warn")


def test_fail_is_a_typed_refusal_with_nothing_trained(node, rows, tiny_model_dir):
    # Execute
    reply = node.send(request(tiny_model_dir, on_leakage="fail"), 1, extra=_record(rows))

    # Assert
    assert reply.has_error() and reply.error.code == int(Refusal.LEAKAGE)
    assert f"{PLANTED} of this owner's records" in reply.error.reason
    assert node.trained == [] and node.ledger_bytes() == b""


def test_a_check_without_its_record_is_a_malformed_request(node, tiny_model_dir):
    # Execute
    reply = node.send(request(tiny_model_dir, on_leakage="warn"), 1)

    # Assert
    assert reply.has_error() and reply.error.code == int(Refusal.REQUEST) and node.trained == []


@pytest.mark.parametrize("mode", ["warn", "exclude", "fail"])
def test_default_policy_excludes_matches_and_sends_no_count(private_node, rows, tiny_model_dir, mode, caplog):
    # Prepare
    caplog.set_level("WARNING", logger="fedflm.client")

    # Execute: whatever the run asks, a server cannot learn the count (membership of guessed texts)
    reply = private_node.send(request(tiny_model_dir, on_leakage=mode, proto_fraction=0), 1, extra=_record(rows))

    # Assert: trained on the 35 kept rows, no refusal, no count in the reply
    assert not reply.has_error(), reply.error.reason
    assert "leakage-overlap" not in reply.content["metrics"] and private_node.trained == [1]
    assert ledger.verify(private_node.ledger)[-1]["sample_rate"] == pytest.approx(8 / (len(rows) - PLANTED))
    assert len(_warned(caplog)) == 1 and _warned(caplog)[0].endswith("; excluded here (this node's policy sends no count)")

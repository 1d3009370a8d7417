"""Idempotent resume: segment ids are unique and persisted before use; a double crash on
resume never breaks an owner's ledger, and the owner keeps training (epsilon never decreases)."""

from __future__ import annotations

import pytest

from fedflm.deploy.rounds import SEGMENT_NAME, next_segment
from fedflm.errors import ConfigError
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy import ledger
from owner_support import make_node, make_store, request

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_every_server_start_gets_a_new_segment_even_without_a_new_checkpoint(tmp_path):
    # Prepare / Execute: a fresh start, then two resumes from the same checkpoint (segment 0)
    fresh = next_segment(tmp_path, "run-x", None)
    first = next_segment(tmp_path, "run-x", 0)
    second = next_segment(tmp_path, "run-x", 0)  # crashed again before any new checkpoint

    # Assert
    assert (fresh, first, second) == (0, 1, 2)
    (tmp_path / SEGMENT_NAME).write_text("not json")
    with pytest.raises(ConfigError, match="not a segment record"):
        next_segment(tmp_path, "run-x", 0)


def test_double_crash_on_resume_keeps_the_owner_training(tmp_path, sst2_sample, tiny_model_dir):
    # Prepare: run R trained rounds 1-2 at the owner; the server checkpointed round 2 (segment 0)
    node = make_node(tmp_path, make_store(tmp_path, sst2_sample[:40]), OwnerPolicy(max_epsilon=30.0))
    run_dir = tmp_path / "server-run"
    run_dir.mkdir()
    cfg = request(tiny_model_dir, rounds=4, noise_multiplier=1.0, epsilon="", run_id="R")
    assert next_segment(run_dir, "R", None) == 0
    for r in (1, 2):
        assert not node.send(cfg, r).has_error()

    # Execute: resume #1 trains round 3 and crashes before checkpointing; resume #2 starts
    seg1 = next_segment(run_dir, "R", 0)
    assert not node.send(cfg, 3, extra={"run-id": f"R.r{seg1}", "rounds": 2}).has_error()
    seg2 = next_segment(run_dir, "R", 0)
    resumed = node.send(cfg, 3, extra={"run-id": f"R.r{seg2}", "rounds": 2})
    # ... and a server with the old bug re-sends resume #1's (run, round): refused for that message only
    before = node.ledger_bytes()
    replay = node.send(cfg, 3, extra={"run-id": f"R.r{seg1}", "rounds": 2})
    after_replay = node.ledger_bytes()
    next_run = node.send(request(tiny_model_dir, noise_multiplier=1.0, epsilon="", run_id="S"), 1)

    # Assert
    assert seg2 == seg1 + 1 and not resumed.has_error()
    assert replay.has_error() and replay.error.code == Refusal.REPLAY and after_replay == before
    assert not next_run.has_error(), next_run.error
    entries = ledger.verify(node.ledger, recompute=True)  # the chain is intact and every epsilon re-derivable
    assert [(e["run_id"], e["round"]) for e in entries] == [("R", 1), ("R", 2), ("R.r1", 3), ("R.r2", 3), ("S", 1)]
    eps = [e["epsilon"] for e in entries]
    assert eps == sorted(eps) and len(set(eps)) == len(eps)

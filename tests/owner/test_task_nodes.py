"""issue 25: a deployed owner's node serving ``--task causal-lm`` and ``--task recommend`` rounds against its
encrypted store, driven by the real ClientApp with the node config ``fedflm client start`` writes. The node
serves only its store's task (one typed refusal otherwise: nothing trained, nothing sent, the ledger
unchanged), plans at its own delta and cap, counts records (causal-lm) or users (recommend) as the privacy
units, writes its ledger before replying and never reads a file the server's request names."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from flwr.app import Message
from transformers import AutoConfig

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.heldout import HeldOut
from fedflm.causal.records import synthetic_records, write_jsonl
from fedflm.config import DPConfig
from fedflm.fl.arrays import from_record
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy
from fedflm.owner.task_store import prepare_task_file, read_interactions
from fedflm.protect.deid import DeidConfig
from fedflm.protect.keys import read_key_file, write_key_file
from fedflm.protect.prepare import PrepareConfig
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.model import TwoTower
from fedflm.recommend.synthetic import synthetic_log
from fedflm.recommend.log import write_log
from flower_messages import train_reply
from owner_support import make_node, make_store, request

POLICY = OwnerPolicy(max_epsilon=20.0, max_rounds=3)
FAST = PrepareConfig(deid_config=DeidConfig(engine="patterns"))


def _send(node, flat: dict, server_round: int, arrays) -> Message:
    return train_reply(flat, server_round, arrays, node.node_config)


def _causal(model, **over) -> CausalRunConfig:
    # the server names a data set the node must never read: it trains on its store
    base = dict(dataset=f"/nonexistent/{time.time()}.jsonl", model=str(model), clients=2, rounds=2, local_steps=3,
                batch_size=8, lr=0.01, max_length=48, seed=3, prompts=0,
                privacy=DPConfig(dp="sample", epsilon=8.0, run_id="run-c", delta=1e-6))
    return CausalRunConfig(**{**base, **over})


def _recommend(model, **over) -> RecommendRunConfig:
    base = dict(dataset="/nonexistent/log.csv", model=str(model), pooling="mean", clients=2, rounds=2,
                local_steps=3, batch_size=8, max_length=48, embed_dim=8, seed=0,
                privacy=DPConfig(dp="sample", epsilon=8.0, run_id="run-r", delta=1e-6))
    return RecommendRunConfig(**{**base, **over})


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A causal-lm store (60 records) and a recommend store (40 users), prepared as an owner would."""
    root = tmp_path_factory.mktemp("task-stores")
    key = write_key_file(root / "owner.key")
    lm = prepare_task_file("causal-lm", write_jsonl(synthetic_records(60, seed=5), root / "lm.jsonl"),
                           root / "lm.store", key, FAST)
    rec = prepare_task_file("recommend", write_log(synthetic_log(40, seed=5), root / "log.csv"), root / "rec.store",
                            key, FAST)
    assert lm["rows"] == 60 and rec["rows"] > 40
    return {"causal-lm": (root / "lm.store", root / "owner.key"), "recommend": (root / "rec.store", root / "owner.key")}


@pytest.fixture(scope="module")
def rec_model(tmp_path_factory, tiny_bert_factory):
    corpus = sorted({r.item_text for r in synthetic_log(60, seed=99)})
    return tiny_bert_factory(tmp_path_factory.mktemp("tiny-rec-bert"), corpus * 3, vocab_size=200)


def test_causal_round_on_the_store_counts_records_and_writes_the_ledger_first(tmp_path, stores, tiny_llama_dir):
    # Prepare
    node = make_node(tmp_path, stores["causal-lm"], POLICY)
    cfg = _causal(tiny_llama_dir)
    start = HeldOut(dataclasses.replace(cfg, dataset="synthetic:20")).state()
    # Execute
    reply = _send(node, cfg.to_run_config(), 1, start)
    written = node.ledger_bytes()
    replay = _send(node, cfg.to_run_config(), 1, start)
    # Assert: one record is one unit (q = 8 / 60), at the owner's delta; only DP output and coarse numbers leave
    assert not reply.has_error(), reply.error.reason if reply.has_error() else ""
    entry = json.loads(written.decode().splitlines()[-1])
    assert (entry["run_id"], entry["round"]) == ("run-c", 1) and entry["sample_rate"] == pytest.approx(8 / 60)
    assert entry["delta"] == pytest.approx(POLICY.delta)
    assert set(reply.content["metrics"].keys()) == {"dp-unit-weight", "partition-id", "epsilon"}
    assert set(from_record(reply.content["arrays"])) == set(start)
    assert "ledger" not in reply.content["privacy"]  # the owner publishes only the head hash by default
    assert replay.has_error() and replay.error.code == Refusal.REPLAY and node.ledger_bytes() == written
    assert "trained; epsilon now" in node.console.read_text()


def test_recommend_round_on_the_store_counts_users(tmp_path, stores, rec_model):
    # Prepare
    node = make_node(tmp_path, stores["recommend"], POLICY)
    cfg = _recommend(rec_model)
    log = read_interactions(stores["recommend"][0], read_key_file(str(stores["recommend"][1])))
    rows = {u: sorted((r for r in log if r.user_id == u), key=lambda r: r.timestamp) for u in {r.user_id for r in log}}
    # a user trains when it has an interaction after its first positive one (fedflm/recommend/records.py)
    units = sum(1 for u in rows if any(r.label for r in rows[u][:-1]))
    hidden = AutoConfig.from_pretrained(rec_model).hidden_size
    start = {k: v.numpy() for k, v in TwoTower(hidden, cfg.embed_dim, seed=0).state_dict().items()}
    # Execute
    reply = _send(node, cfg.to_run_config(), 1, start)
    # Assert: q = users per batch / users with a history (at most the store's users), never / records
    assert not reply.has_error(), reply.error.reason if reply.has_error() else ""
    entry = json.loads(node.ledger_bytes().decode().splitlines()[-1])
    assert entry["sample_rate"] == pytest.approx(8 / units) and len(log) > 2 * units
    assert list(from_record(reply.content["arrays"])) == list(start)
    assert set(reply.content["metrics"].keys()) == {"dp-unit-weight", "partition-id", "epsilon"}


@pytest.mark.parametrize("store_task, asked", [("causal-lm", "recommend"), ("recommend", "causal-lm"),
                                               ("causal-lm", "classify"), ("classify", "causal-lm")])
def test_a_task_other_than_the_stores_is_refused_and_nothing_changes(tmp_path, stores, tiny_llama_dir,
                                                                     tiny_model_dir, sst2_sample, store_task, asked):
    # Prepare
    store = make_store(tmp_path, sst2_sample[:20]) if store_task == "classify" else stores[store_task]
    node = make_node(tmp_path, store, POLICY)
    flat = {"causal-lm": lambda: _causal(tiny_llama_dir).to_run_config(),
            "recommend": lambda: _recommend(tiny_model_dir).to_run_config(),
            "classify": lambda: request(tiny_model_dir).to_run_config()}[asked]()
    # Execute
    reply = _send(node, flat, 1, {})
    # Assert: one typed refusal naming both tasks; no ledger, no content
    assert reply.has_error() and reply.error.code == Refusal.TASK and not reply.has_content()
    assert f"the run asks for task {asked}; this node's store holds {store_task} data" in reply.error.reason
    assert node.ledger_bytes() == b""
    assert "REFUSED" in node.console.read_text()


def test_the_owners_policy_decides_tasks_cap_and_mode(tmp_path, stores, tiny_llama_dir):
    # Prepare: an owner accepting only recommend runs, and one without the dp=none opt-in
    only_rec = make_node(tmp_path / "a", stores["causal-lm"], OwnerPolicy(max_epsilon=20.0, tasks=("recommend",)))
    strict = make_node(tmp_path / "b", stores["causal-lm"], POLICY)
    cfg = _causal(tiny_llama_dir)
    # Execute
    by_task = _send(only_rec, cfg.to_run_config(), 1, {})
    no_dp = _send(strict, {**cfg.to_run_config(), "dp": "none"}, 1, {})
    big_delta = _send(strict, {**cfg.to_run_config(), "delta": 0.01}, 1, {})
    # Assert
    assert by_task.has_error() and by_task.error.code == Refusal.TASK and "'causal-lm'" in by_task.error.reason
    assert no_dp.has_error() and no_dp.error.code == Refusal.DP_MODE
    assert big_delta.has_error() and big_delta.error.code == Refusal.DELTA
    assert only_rec.ledger_bytes() == b"" and strict.ledger_bytes() == b""


def test_a_users_records_do_not_depend_on_the_other_users():
    # Prepare: user "a" took item "x" that nobody else took; user "b" was shown items it did not take
    from clients.recommend import owner_examples
    from fedflm.recommend.log import Interaction

    log = [Interaction("a", "x", "only a took this", 1.0, 1), Interaction("a", "y", "a second", 2.0, 1),
           Interaction("b", "z", "b took", 1.0, 1), Interaction("b", "w", "b skipped", 2.0, 0),
           Interaction("b", "v", "b again", 3.0, 1), Interaction("b", "u", "b skipped too", 4.0, 0)]
    # Execute
    both = {e.user_id: e for e in owner_examples(log, 10, 2, seed=1)}
    alone = {e.user_id: e for e in owner_examples([r for r in log if r.user_id == "b"], 10, 2, seed=1)}
    # Assert: b's records are the same with or without a; a's item never enters b's records
    assert both["b"] == alone["b"]
    assert all("only a took this" not in (e.history, e.candidate) for e in both["b"].examples)
    assert {e.candidate for e in both["b"].examples if e.label == 0} <= {"b skipped", "b skipped too"}

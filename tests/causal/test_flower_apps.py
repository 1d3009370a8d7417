"""The real ClientApp's ``--task causal-lm`` round, driven as the ServerApp drives it (a Flower
Message with the run config as a ConfigRecord), without starting Ray; the server's held-out
perplexity (fedflm.causal.heldout) scores what the node sends back."""

from __future__ import annotations

import json

import pytest
from flwr.app import Message

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.heldout import HeldOut
from fedflm.config import DPConfig
from fedflm.fl.arrays import from_record
from fedflm.owner.refusal import Refusal
from flower_messages import train_reply

SIMULATED = {"partition-id": 0, "num-partitions": 2}


def _config(model_dir, out, **privacy) -> CausalRunConfig:
    return CausalRunConfig(dataset="synthetic:130", model=str(model_dir), clients=2, rounds=2, local_steps=15,
                           batch_size=16, lr=0.01, max_length=48, seed=3, out=str(out), prompts=0,
                           privacy=DPConfig(privacy_state=str(out / "privacy_state"), **privacy))


def _send(cfg: CausalRunConfig | dict, server_round: int, arrays, node_config=SIMULATED) -> Message:
    flat = cfg.to_run_config() if isinstance(cfg, CausalRunConfig) else cfg
    return train_reply(flat, server_round, arrays, node_config)


@pytest.fixture(scope="module")
def held(tiny_llama_dir, tmp_path_factory) -> HeldOut:
    return HeldOut(_config(tiny_llama_dir, tmp_path_factory.mktemp("held"), dp="none"))


def test_round_without_dp_sends_lora_tensors_that_lower_held_out_perplexity(held, tiny_llama_dir, tmp_path):
    # Prepare
    cfg = _config(tiny_llama_dir, tmp_path, dp="none")
    start = held.state()
    before = held.score(start)["perplexity"]
    # Execute
    reply = _send(cfg, 1, start)
    # Assert
    assert not reply.has_error()
    assert set(reply.content.keys()) == {"arrays", "metrics"}
    sent = from_record(reply.content["arrays"])
    assert list(sent) == list(start) and all("lora_" in k for k in sent)
    assert set(reply.content["metrics"].keys()) == {"train-loss", "num-examples", "partition-id"}
    assert held.score(sent)["perplexity"] < 0.9 * before


def test_dp_round_writes_the_ledger_first_and_a_replay_is_refused(held, tiny_llama_dir, tmp_path):
    # Prepare
    cfg = _config(tiny_llama_dir, tmp_path, dp="sample", epsilon=8.0, run_id="run-a")
    ledger = tmp_path / "privacy_state" / "client-0" / "ledger.jsonl"
    # Execute
    reply = _send(cfg, 1, held.state())
    written = ledger.read_bytes()
    replay = _send(cfg, 1, held.state())
    # Assert
    assert not reply.has_error()
    entries = [json.loads(line) for line in written.decode().splitlines()]
    assert [(e["run_id"], e["round"]) for e in entries] == [("run-a", 1)]
    assert reply.content["privacy"]["ledger"] == written.decode()  # the simulated owner publishes its ledger
    metrics = reply.content["metrics"]
    assert "train-loss" not in metrics and "num-examples" not in metrics  # no exact loss or count under DP
    assert 0 < metrics["epsilon"] <= 8.0
    assert replay.has_error() and replay.error.code == Refusal.REPLAY
    assert ledger.read_bytes() == written


def test_request_the_owner_policy_refuses_trains_nothing(held, tiny_llama_dir, tmp_path):
    # Prepare: a request asking for the client-level mode this task refuses is malformed
    cfg = _config(tiny_llama_dir, tmp_path, dp="sample")
    flat = cfg.to_run_config() | {"dp": "client"}
    # Execute
    reply = _send(flat, 1, held.state())
    # Assert
    assert reply.has_error() and reply.error.code == Refusal.REQUEST
    assert "dp must be sample or none" in reply.error.reason
    assert not (tmp_path / "privacy_state").exists()

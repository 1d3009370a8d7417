"""The real ClientApp's ``--task recommend`` round, driven as the ServerApp drives it (a Flower
Message with the run config as a ConfigRecord), without starting Ray; the server's held-out users
(fedflm.recommend.heldout) score what the node sends back."""

from __future__ import annotations

import dataclasses
import json

import pytest
from flwr.app import Message

from clients.recommend import owner_users, data_key
from fedflm.config import DPConfig
from fedflm.fl.arrays import from_record
from fedflm.owner.refusal import Refusal
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.heldout import RankingHeldOut
from fedflm.recommend.split import split_users
from flower_messages import train_reply

SIMULATED = {"partition-id": 0, "num-partitions": 2}


def _config(model_dir, out, **privacy) -> RecommendRunConfig:
    return RecommendRunConfig(dataset="synthetic:150", model=str(model_dir), pooling="mean", clients=2, rounds=2,
                              local_steps=60, batch_size=8, lr=0.01, max_length=64, embed_dim=16, seed=0,
                              eval_negatives=30, out=str(out), tower_init="random",  # learning from scratch
                              privacy=DPConfig(privacy_state=str(out / "privacy_state"), **privacy))


def _send(cfg: RecommendRunConfig | dict, server_round: int, arrays, node_config=SIMULATED) -> Message:
    flat = cfg.to_run_config() if isinstance(cfg, RecommendRunConfig) else cfg
    return train_reply(flat, server_round, arrays, node_config)


@pytest.fixture(scope="module")
def held(tiny_rec_model, tmp_path_factory) -> RankingHeldOut:
    return RankingHeldOut(_config(tiny_rec_model, tmp_path_factory.mktemp("held"), dp="none"))


def test_round_without_dp_sends_tower_tensors_that_rank_better(held, tiny_rec_model, tmp_path):
    # Prepare
    cfg = dataclasses.replace(_config(tiny_rec_model, tmp_path, dp="none"), local_steps=150)
    start = held.state()
    before = held.score(start)["auc"]
    # Execute
    reply = _send(cfg, 1, start)
    # Assert: only the towers travel (no encoder tensor), with the exact loss and user count (no DP)
    assert not reply.has_error()
    sent = from_record(reply.content["arrays"])
    assert list(sent) == ["user.weight", "item.weight", "prior.weight", "prior.bias"]
    assert set(reply.content["metrics"].keys()) == {"train-loss", "num-examples", "partition-id"}
    assert reply.content["metrics"]["num-examples"] == len(split_users(cfg).owners[0])  # users, not records
    after = held.score(sent)["auc"]  # seeds 0/1/2: 0.701 / 0.638 / 0.650, from 0.462 / 0.483 / 0.568
    assert after > 0.6 and after > before + 0.05


def test_dp_round_accounts_per_user_writes_the_ledger_first_and_refuses_a_replay(held, tiny_rec_model, tmp_path):
    # Prepare
    cfg = _config(tiny_rec_model, tmp_path, dp="sample", epsilon=8.0, run_id="run-a")
    ledger = tmp_path / "privacy_state" / "client-0" / "ledger.jsonl"
    users = owner_users(data_key(cfg), 0)
    # Execute
    reply = _send(cfg, 1, held.state())
    written = ledger.read_bytes()
    replay = _send(cfg, 1, held.state())
    # Assert: the ledger's sample rate is batch / users (the privacy unit), not batch / records
    assert not reply.has_error()
    entries = [json.loads(line) for line in written.decode().splitlines()]
    assert [(e["run_id"], e["round"]) for e in entries] == [("run-a", 1)]
    records = len(users.rows)
    assert entries[0]["sample_rate"] == pytest.approx(8 / len(users)) and records > 3 * len(users)
    assert entries[0]["steps"] == 60
    assert reply.content["privacy"]["ledger"] == written.decode()
    metrics = reply.content["metrics"]
    assert "train-loss" not in metrics and "num-examples" not in metrics and 0 < metrics["epsilon"] <= 8.0
    assert replay.has_error() and replay.error.code == Refusal.REPLAY
    assert ledger.read_bytes() == written


def test_client_level_dp_is_a_malformed_request_and_trains_nothing(held, tiny_rec_model, tmp_path):
    flat = _config(tiny_rec_model, tmp_path, dp="sample").to_run_config() | {"dp": "client"}
    reply = _send(flat, 1, held.state())
    assert reply.has_error() and reply.error.code == Refusal.REQUEST
    assert "dp must be sample (one user = one privacy unit) or none" in reply.error.reason
    assert not (tmp_path / "privacy_state").exists()


def test_deployed_server_without_its_own_held_out_log_writes_nothing(monkeypatch, tmp_path):
    from fedflm.deploy import env
    from fedflm.errors import ConfigError
    from server.recommend import run_recommend_server

    monkeypatch.setenv(env.DEPLOYMENT, "1")
    with pytest.raises(ConfigError, match="--task recommend in deployment needs --eval-file"):
        run_recommend_server(None, RecommendRunConfig(out=str(tmp_path / "run")))
    assert not (tmp_path / "run").exists()

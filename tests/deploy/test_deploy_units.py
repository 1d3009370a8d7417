"""Deployment pieces without processes: the generated Flower App, node config,
owner settings, option checks, below-minimum rounds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from flwr.app import Error, Message, Metadata, MetricRecord, RecordDict
from flwr.common.config import flatten_dict, get_project_config, parse_config_args, validate_config

from fedflm.cli.deploy import server_config
from fedflm.config import RunConfig
from fedflm.deploy.client import ClientOptions, write_node_config
from fedflm.deploy.control import write_app_dir, write_flower_home
from fedflm.deploy.node_data import owner_dataset
from fedflm.deploy.rounds import DeploymentRounds, QuorumLost
from fedflm.deploy.server import ServerOptions
from fedflm.errors import ConfigError, DecryptionError
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.rundir import config_to_toml
from fedflm.fl.strategy import RecordingFedAvg
from fedflm.owner.settings import OwnerPolicy, OwnerSettings
from fedflm.protect.keys import generate_key, write_key_file
from fedflm.protect.store import StoreWriter

CAP = OwnerPolicy(max_epsilon=8.0)


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    key = write_key_file(tmp_path / "owner.key")
    with StoreWriter(tmp_path / "owner.store", key, ["negative", "positive"]) as w:
        w.add(["good film", "bad plot", "fine"], [1, 0, 1])
        w.commit()
    return tmp_path / "owner.store", tmp_path / "owner.key"


def test_generated_app_passes_flowers_checks_and_carries_the_whole_config(tmp_path):
    # Prepare
    cfg = RunConfig.from_flat({"dataset": "banking77", "rounds": 7, "model": 'dir with "quotes"',
                               "noise_multiplier": 1.3, "epsilon": "", "out": str(tmp_path / "r")})

    # Execute
    app = write_app_dir(tmp_path / "app", cfg)
    project = get_project_config(app)
    ok, errors, _ = validate_config(project, check_module=False)

    # Assert
    assert ok, errors
    assert project["tool"]["flwr"]["app"]["components"] == {"serverapp": "server.app:app",
                                                            "clientapp": "fedflm.deploy.warm_clientapp:app"}
    assert RunConfig.from_flat(flatten_dict(project["tool"]["flwr"]["app"]["config"])) == cfg


def test_flower_home_names_the_ca_or_says_insecure(tmp_path):
    import tomllib

    tls = tomllib.loads(write_flower_home(tmp_path / "a", "10.0.0.1:9092", tmp_path / "ca.pem").read_text())
    plain = tomllib.loads(write_flower_home(tmp_path / "b", "127.0.0.1:9092", None).read_text())
    assert tls["superlink"]["fedflm"] == {"address": "10.0.0.1:9092",
                                          "root-certificates": str((tmp_path / "ca.pem").resolve())}
    assert plain["superlink"]["fedflm"] == {"address": "127.0.0.1:9092", "insecure": True}


def test_node_config_round_trips_through_flowers_parser(store, tmp_path):
    # Prepare
    policy = OwnerPolicy(dp_modes=("sample", "client"), max_epsilon=3.5, delta=1e-6, max_rounds=4,
                         models=("minilm",), publish_ledger=True)
    opts = ClientOptions(server="fl.example.org:9092", store=store[0], key_file=store[1],
                         state_dir=tmp_path / 'my "state"', owner_id="hospital-a", insecure=True, policy=policy)

    # Execute
    path = write_node_config(opts)
    parsed = parse_config_args([str(path)])
    settings = OwnerSettings.from_node_config(parsed)

    # Assert: the same typed settings come back on the node, and only the owner can read the file
    assert settings == opts.settings() and settings.policy == policy
    assert parsed["store"] == str(store[0].resolve()) and parsed["policy.max-epsilon"] == 3.5
    assert path.stat().st_mode & 0o777 == 0o600
    ds, names = owner_dataset(parsed)
    assert names == ("negative", "positive") and ds["text"] == ["good film", "bad plot", "fine"]


def test_owner_keeps_secure_mode_unless_it_switches_it_off(tmp_path):
    base = {"owner-id": "a", "state-dir": str(tmp_path)}
    assert OwnerSettings.from_node_config(base).secure_mode is True
    assert OwnerSettings.from_node_config({**base, "secure-mode": "false"}).secure_mode is False
    with pytest.raises(ConfigError, match="secure_mode must be true or false, got 'maybe'"):
        OwnerSettings.from_node_config({**base, "secure-mode": "maybe"})
    with pytest.raises(ConfigError, match="unknown key 'max-epsilon'"):  # no loose keys
        OwnerSettings.from_node_config({**base, "max-epsilon": 100.0})


def test_client_options_refuse_a_wrong_key_before_starting_anything(store, tmp_path):
    with pytest.raises(DecryptionError):
        ClientOptions(server="127.0.0.1:9092", store=store[0], key_file=write_key_file(tmp_path / "other.key",
                                                                                        generate_key()).source,
                      state_dir=tmp_path, owner_id="x", insecure=True, policy=CAP)


@pytest.mark.parametrize("bad, match", [({"server": "no-port"}, "HOST:PORT"),
                                        ({"ca_cert": None}, "--ca-cert"),
                                        ({"policy": OwnerPolicy()}, "epsilon cap is required"),
                                        ({"secure_mode": True, "seed": 3}, "seed is for secure_mode=false"),
                                        ({"max_retries": 0}, "--connect-retries must be >= 1, got 0")])
def test_client_options_name_the_bad_value(store, tmp_path, bad, match):
    opts = dict(server="127.0.0.1:9092", store=store[0], key_file=store[1], state_dir=tmp_path, owner_id="x",
                ca_cert=tmp_path / "ca.pem", auth_key=store[1], policy=CAP)
    (tmp_path / "ca.pem").write_text("x")
    with pytest.raises(ConfigError, match=match):
        ClientOptions(**{**opts, **bad})


def test_server_options_need_certs_and_keys_unless_insecure(tmp_path):
    with pytest.raises(ConfigError, match="--certs"):
        ServerOptions()
    with pytest.raises(ConfigError, match="ca.pem"):
        ServerOptions(certs=tmp_path)
    with pytest.raises(ConfigError, match="no SuperNode public keys"):
        ServerOptions(certs=_certs(tmp_path / "pki"))
    plain = ServerOptions(insecure=True)  # a trusted test network: nothing to check
    assert (plain.certs, plain.authorized_keys, plain.key_file) == (None, (), None)


def _certs(folder: Path) -> Path:
    from fedflm.deploy.certs import make_certs
    make_certs(folder, "127.0.0.1", ["n"])
    return folder


def test_server_config_secure_mode_on_by_default_and_resume_reads_the_run_config(tmp_path):
    # Prepare
    ns = dict(config=None, resume=None, out=str(tmp_path / "r"), rounds=4)
    run = tmp_path / "old"
    run.mkdir()
    (run / "config.toml").write_text(config_to_toml(RunConfig.from_flat({"rounds": 9, "run_id": "abc"})))
    with pytest.raises(ConfigError, match="no checkpoint"):
        server_config(argparse.Namespace(**{**ns, "resume": run, "out": None, "rounds": None}))
    (run / "checkpoint.fedflm").write_bytes(b"x")

    # Execute
    fresh = server_config(argparse.Namespace(**ns))
    resumed = server_config(argparse.Namespace(**{**ns, "resume": run, "out": None, "rounds": None}))

    # Assert
    assert fresh.privacy.secure_mode is True and fresh.fed.rounds == 4
    assert (resumed.fed.rounds, resumed.privacy.run_id, resumed.fed.out) == (9, "abc", str(run))
    with pytest.raises(ConfigError, match="--out"):
        server_config(argparse.Namespace(**{**ns, "out": None}))


def _reply(ok: bool, value: float, n: int, src: int) -> Message:
    meta = Metadata(run_id=1, message_id=f"r{src}", src_node_id=src, dst_node_id=0, reply_to_message_id=f"m{src}",
                    group_id="1", created_at=0.0, ttl=60.0, message_type="train")
    if not ok:
        return Message(Error(code=0, reason="node lost"), metadata=meta)
    content = RecordDict({"arrays": to_record({"w": np.full(2, value, dtype=np.float32)}),
                          "metrics": MetricRecord({"num-examples": n, "train-loss": 0.5})})
    return Message(content, metadata=meta)


def test_fedavg_over_survivors_and_skip_below_minimum():
    # Prepare
    rounds = DeploymentRounds(RecordingFedAvg(min_train_nodes=2, min_available_nodes=2), min_clients=2,
                              wait_s=0.0, max_skipped=1)

    # Execute
    arrays, _ = rounds.aggregate_train(1, [_reply(True, 1.0, 10, 1), _reply(True, 4.0, 30, 2),
                                           _reply(False, 0, 0, 3)])
    skipped, _ = rounds.aggregate_train(2, [_reply(True, 1.0, 10, 1), _reply(False, 0, 0, 2)])

    # Assert: FedAvg of the two survivors, weighted by examples: (1*10 + 4*30) / 40
    assert from_record(arrays)["w"].tolist() == [3.25, 3.25]
    assert skipped is None and rounds.rounds_skipped == [2]
    with pytest.raises(QuorumLost, match="2 rounds in a row"):
        rounds.aggregate_train(3, [_reply(False, 0, 0, 1)])


class _ConnectedNodes:
    """The one thing a strategy asks the Grid before sampling: which nodes are connected."""

    def get_node_ids(self) -> list[int]:
        return [11, 12]


def test_round_numbers_and_client_config_follow_the_resume_offset(monkeypatch):
    # Prepare: resumed after round 2 of 4; clients get the new ledger run id and the rounds left
    from flwr.app import ConfigRecord
    from flwr.supercore.task_identity import TaskIdentity

    monkeypatch.setattr(TaskIdentity, "_run_id", 1)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)
    inner = RecordingFedAvg(min_train_nodes=1, min_available_nodes=1)
    rounds = DeploymentRounds(inner, min_clients=1, wait_s=0.0, max_skipped=3, offset=2,
                              client_overrides={"run-id": "run.r1", "rounds": 2})
    run_config = ConfigRecord({"run-id": "run", "rounds": 4, "lr": 0.01})

    # Execute
    messages = list(rounds.configure_train(1, to_record({"w": np.zeros(2, dtype=np.float32)}), run_config,
                                           _ConnectedNodes()))
    rounds.aggregate_train(1, [_reply(True, 1.0, 10, 1)])

    # Assert: every client is told the resumed round number, the new run id and the rounds left
    assert sorted(m.metadata.dst_node_id for m in messages) == [11, 12]
    for message in messages:
        config = message.content["config"]
        assert (config["server-round"], config["run-id"], config["rounds"], config["lr"]) == (3, "run.r1", 2, 0.01)
    assert inner.last_round["round"] == 3


def test_insecure_mode_drops_tls_and_auth_flags_on_both_sides(store, tmp_path):
    # Prepare
    from fedflm.deploy.client import supernode_argv
    from fedflm.deploy.server import superlink_argv

    certs = tmp_path / "pki"
    from fedflm.deploy.certs import make_certs
    make_certs(certs, "127.0.0.1", ["n"])

    # Execute
    secure = superlink_argv(ServerOptions(certs=certs, authorized_keys=(certs / "nodes",)), tmp_path / "db")
    plain = superlink_argv(ServerOptions(insecure=True), tmp_path / "db")
    node = supernode_argv(ClientOptions(server="127.0.0.1:9092", store=store[0], key_file=store[1],
                                        state_dir=tmp_path, owner_id="n", ca_cert=certs / "ca.pem",
                                        auth_key=certs / "nodes" / "n.key", policy=CAP))
    node_plain = supernode_argv(ClientOptions(server="127.0.0.1:9092", store=store[0], key_file=store[1],
                                              state_dir=tmp_path, owner_id="n", insecure=True, policy=CAP))

    # Assert
    assert "--enable-supernode-auth" in secure and "--ssl-keyfile" in secure and "--insecure" not in secure
    assert "--insecure" in plain and "--enable-supernode-auth" not in plain and "--ssl-keyfile" not in plain
    assert "--root-certificates" in node and "--auth-supernode-private-key" in node and "--insecure" not in node
    assert "--insecure" in node_plain and "--root-certificates" not in node_plain


def test_a_node_with_a_heartbeat_runs_flowers_supernode_through_the_wrapper(store, tmp_path):
    # Prepare
    from fedflm.deploy.client import supernode_argv

    base = dict(server="127.0.0.1:9092", store=store[0], key_file=store[1], state_dir=tmp_path / "st",
                owner_id="n", insecure=True, port=5555, policy=CAP)

    # Execute
    plain = supernode_argv(ClientOptions(**base))
    beating = supernode_argv(ClientOptions(**base, heartbeat=15))

    # Assert: the same Flower arguments; the interval goes to the wrapper, which hands them to flower-supernode
    assert Path(plain[0]).name == "flower-supernode" and "--superlink" in plain
    assert beating[:4] == [sys.executable, "-m", "fedflm.deploy.heartbeat", "15.0"] and beating[4:] == plain[1:]
    with pytest.raises(ConfigError, match="--heartbeat must be between 10 and 1800 seconds.*got 5"):
        ClientOptions(**base, heartbeat=5)


def test_connect_retries_reach_the_supernode_and_the_supervisor_defaults_to_four(store, tmp_path):
    # Prepare
    from fedflm.deploy.client import supernode_argv
    from fedflm.deploy.node_supervisor import NodeSupervisor

    base = dict(server="127.0.0.1:9092", store=store[0], key_file=store[1], state_dir=tmp_path / "st",
                owner_id="n", insecure=True, port=5555, policy=CAP)

    # Execute
    one, default = ClientOptions(**base, max_retries=1), ClientOptions(**base)

    # Assert: `client start --connect-retries 1` gives Flower one retry; without it the supervisor bounds Flower's at 4
    argv = supernode_argv(NodeSupervisor(one, say=lambda s: None, warm=False).opts)
    assert argv[argv.index("--max-retries") + 1] == "1"
    argv = supernode_argv(NodeSupervisor(default, say=lambda s: None, warm=False).opts)
    assert argv[argv.index("--max-retries") + 1] == "4"
    assert "--max-retries" not in supernode_argv(default)  # bare SuperNode (tests, benchmarks): Flower's own


def test_flower_processes_do_not_call_home_unless_asked(monkeypatch):
    # Prepare: an environment that says nothing, then one that opts in
    from fedflm.deploy.procs import flower_env

    monkeypatch.delenv("FLWR_TELEMETRY_ENABLED", raising=False)
    monkeypatch.delenv("FLWR_DISABLE_UPDATE_CHECK", raising=False)

    # Execute
    quiet = flower_env()
    monkeypatch.setenv("FLWR_TELEMETRY_ENABLED", "1")
    asked = flower_env()

    # Assert: Flower's usage events and update check are off by default; an explicit choice is kept
    assert (quiet["FLWR_TELEMETRY_ENABLED"], quiet["FLWR_DISABLE_UPDATE_CHECK"]) == ("0", "1")
    assert asked["FLWR_TELEMETRY_ENABLED"] == "1"

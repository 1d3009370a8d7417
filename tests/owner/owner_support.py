"""A deployed data owner's node driven by a misbehaving server: messages are crafted
exactly as a ServerApp would send them (Flower Message, ConfigRecord run config) and
handed to the real ClientApp ``train`` function with the node config that
``fedflm client start`` writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flwr.app import Message
from flwr.common.config import parse_config_args

import clients.app as client_app
from fedflm.config import RunConfig
from fedflm.deploy.client import ClientOptions, write_node_config
from fedflm.models.lora import build_model, get_adapter_state
from fedflm.owner.settings import OwnerPolicy
from fedflm.protect.keys import write_key_file
from fedflm.protect.store import StoreWriter
from flower_messages import train_reply

LABELS = ("negative", "positive")


def make_store(folder: Path, rows: list[tuple[str, int]]) -> tuple[Path, Path]:
    key = write_key_file(folder / "owner.key")
    with StoreWriter(folder / "owner.store", key, list(LABELS)) as w:
        w.add([t for t, _ in rows], [y for _, y in rows])
        w.commit()
    return folder / "owner.store", folder / "owner.key"


def request(model_dir: Path, **over) -> RunConfig:
    """An honest server's run config (sample-level DP, 3 rounds); ``over`` is the attack."""
    flat = {"dataset": "sst2", "model": str(model_dir), "rounds": 3, "batch_size": 8, "local_steps": 2,
            "max_length": 32, "dp": "sample", "epsilon": 8.0, "device": "cpu", "run_id": "run-a", "seed": 7}
    flat.update(over)
    return RunConfig.from_flat(flat)


@dataclass
class Node:
    """One owner's node: its node config as Flower hands it to the ClientApp."""

    opts: ClientOptions
    node_config: dict
    trained: list[int] = field(default_factory=list)

    @property
    def ledger(self) -> Path:
        return self.opts.state_dir / self.opts.owner_id / "ledger.jsonl"

    @property
    def console(self) -> Path:
        return self.opts.state_dir / self.opts.owner_id / "console.log"

    def ledger_bytes(self) -> bytes:
        return self.ledger.read_bytes() if self.ledger.exists() else b""

    def send(self, cfg: RunConfig, server_round: int, arrays=None, extra: dict | None = None) -> Message:
        """What a server sends, as it would send it; returns the node's reply."""
        client_app._model.cache_clear()  # a deployed ClientApp process starts without a cached model
        if arrays is None:
            arrays = get_adapter_state(build_model(cfg.model, LABELS, cfg.fed.seed))
        return train_reply({**cfg.to_run_config(), **(extra or {})}, server_round, arrays, self.node_config)


def make_node(tmp: Path, store: tuple[Path, Path], policy: OwnerPolicy, **opts) -> Node:
    o = ClientOptions(server="127.0.0.1:9092", store=store[0], key_file=store[1], state_dir=tmp / "state",
                      owner_id="clinic-a", insecure=True, policy=policy, **opts)
    return Node(o, parse_config_args([str(write_node_config(o))]))


def spy_training(monkeypatch, node: Node) -> None:
    """Count calls of the real local training loop (it still runs)."""
    real = client_app.train_local

    def counting(*args, **kwargs):
        node.trained.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(client_app, "train_local", counting)


def max_abs(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in a)

"""fedflm ClientApp: trains the LoRA adapter on this node's data, returns only adapter tensors.

Simulation: each virtual client derives its partition from the run config
(``partition-id`` / ``num-partitions`` in its node config). Deployment: a data
owner's node config names its encrypted store, key file and privacy state
(``fedflm client start``; see fedflm/deploy/node_data.py). Nothing but the
adapter tensors and aggregate numbers (train loss, example count) is replied.
"""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache

from flwr.app import ConfigRecord, Context, Error, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from fedflm.config import ModelConfig, RunConfig
from fedflm.deploy.node_data import is_deployed, owner_dataset, owner_partition_id, owner_run_config
from fedflm.errors import PrivacyBudgetExceeded
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.client_data import client_partition, prepared_node_config
from fedflm.models.lora import (build_model, get_adapter_state, load_tokenizer, resolve_device,
                                set_adapter_state)
from fedflm.train.batching import TokenizedDataset, train_loader
from fedflm.privacy.dp import SecureModeOffWarning
from fedflm.privacy.federation import client_owner, train_private
from fedflm.train.local import train_local
from fedflm.train.memory import return_freed_memory

app = ClientApp()
BUDGET_REFUSED = 403  # error code of a refusal: the data owner's epsilon cap would be exceeded
log = logging.getLogger("fedflm.client")


@lru_cache(maxsize=1)
def _model(cfg: ModelConfig, label_names: tuple[str, ...], seed: int):
    """One model per worker process; every round overwrites all trainable tensors."""
    return build_model(cfg, label_names, seed), load_tokenizer(cfg)


@lru_cache(maxsize=256)  # one entry per partition this worker serves (5 of 10 on 2 cores)
def _tokenized(cfg: RunConfig, partition_id: int, num_clients: int) -> TokenizedDataset:
    ds, names = client_partition(cfg.data, partition_id, num_clients, cfg.fed.seed)
    _, tok = _model(cfg.model, names, cfg.fed.seed)
    return TokenizedDataset(ds, tok, cfg.data.max_length)


def run_config_from_message(msg: Message) -> RunConfig:
    """The run's config as sent by the server (scalars only; server-round dropped)."""
    flat = {k: v for k, v in msg.content["config"].items() if k != "server-round"}
    return RunConfig.from_flat(flat)


@app.train()
def train(msg: Message, context: Context) -> Message:
    cfg = run_config_from_message(msg)
    if not is_deployed(context.node_config):
        # simulation: the CLI and the run summary announce insecure settings once
        warnings.filterwarnings("ignore", category=SecureModeOffWarning)
    server_round = int(msg.content["config"]["server-round"])
    if is_deployed(context.node_config):  # a data owner's node: its encrypted store
        cfg = owner_run_config(cfg, context.node_config)
        pid = owner_partition_id(context.node_config)
        ds, names = owner_dataset(context.node_config)
        model, tok = _model(cfg.model, names, cfg.fed.seed)
        data = TokenizedDataset(ds, tok, cfg.data.max_length)
    elif cfg.data.prepare:  # simulation with --prepare: this owner's encrypted store
        pid = int(context.node_config["partition-id"])
        ds, names = owner_dataset(prepared_node_config(cfg.fed.out, pid))
        model, tok = _model(cfg.model, names, cfg.fed.seed)
        data = TokenizedDataset(ds, tok, cfg.data.max_length)
    else:  # simulation: the partition derived from the run config
        pid = int(context.node_config["partition-id"])
        num_clients = int(context.node_config["num-partitions"])
        _, names = client_partition(cfg.data, pid, num_clients, cfg.fed.seed)
        model, _ = _model(cfg.model, names, cfg.fed.seed)
        data = _tokenized(cfg, pid, num_clients)
    set_adapter_state(model, from_record(msg.content["arrays"]))
    loader = train_loader(data, cfg.train.batch_size, seed=cfg.fed.round_seed(server_round, pid))
    device = resolve_device(cfg.model.device)
    privacy = None
    if cfg.privacy.dp == "sample":
        owner = client_owner(cfg, context.node_config, pid)
        try:  # the owner's ledger is fsync'd before train_private returns
            result, privacy = train_private(cfg, owner, len(data), server_round,
                                            lambda privatize: train_local(model, loader, cfg.train, device, privatize))
        except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
            log.warning("%s", exc)
            return Message(Error(code=BUDGET_REFUSED, reason=f"privacy budget: {exc}"), reply_to=msg)
    else:
        result = train_local(model, loader, cfg.train, device)
    metrics = MetricRecord({"train-loss": result.loss, "num-examples": len(data),
                            "partition-id": pid, "steps": result.steps,
                            "train-seconds": result.seconds})
    reply = RecordDict({"arrays": to_record(get_adapter_state(model)), "metrics": metrics})
    if privacy is not None:
        metrics["epsilon"] = privacy.epsilon
        reply["privacy"] = ConfigRecord({"owner-id": privacy.owner_id, "ledger": privacy.ledger})
    if cfg.privacy.dp == "client":  # equal weights: the client-level DP analysis needs them
        metrics["dp-unit-weight"] = 1
    return_freed_memory(device)  # a worker serves many rounds: give the round's heap back
    return Message(content=reply, reply_to=msg)

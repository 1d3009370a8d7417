"""fedflm ClientApp: trains the LoRA adapter on this node's data, returns only adapter tensors.

Simulation: each virtual client derives its partition from the run config
(``partition-id`` / ``num-partitions`` in its node config); the simulated
owner's settings come from the run config (the operator simulates itself).
Deployment: a data owner's node config is its :class:`OwnerSettings` (store,
key, privacy state, secure mode, and its policy; ``fedflm client start``).
The server's run config is a *request*: the node checks it against the
owner's policy and refuses with a typed code (nothing trained, nothing sent,
the ledger unchanged) when it breaks it. What a reply carries is decided in
``fedflm.owner.reply``; see clients/README.md.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from clients.node import (NodeRound, announce_round, owner_privacy, owner_settings, refusal, require_store_task,
                          round_guard, round_seed)
from fedflm.config import ModelConfig, RunConfig
from fedflm.data import leakage
from fedflm.deploy.node_data import owner_dataset
from fedflm.errors import ConfigError, PolicyRefused, PrivacyBudgetExceeded
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.attack import attacker_ids, flipped_labels, poison
from fedflm.fl.client_data import client_partition, prepared_node_config
from fedflm.fl.secagg_client import is_masked, secagg_mod
from fedflm.models.lora import (build_model, get_adapter_state, head_linear, load_tokenizer, pooled_classifier,
                                resolve_device, set_adapter_state, set_head)
from fedflm.owner.console import announce
from fedflm.owner.policy import check_examples, check_request, effective_config
from fedflm.owner.refusal import Refusal
from fedflm.owner.amplified_view import amplified_view
from fedflm.owner.reply import coarse_epsilon, reply_metrics, reply_privacy
from fedflm.owner.settings import OwnerSettings
from fedflm.privacy.federation import PrivacyOutcome, private_prototypes, train_private
from fedflm.privacy.prototypes import noisy_class_sums, prototype_head
from fedflm.train.augment import augment_loader
from fedflm.train.batching import TokenizedDataset
from fedflm.train.documents import document_vectors
from fedflm.train.plan import owner_cache, round_module  # issue 15: train modes + frozen-feature cache
from fedflm.train.local import TrainResult, train_local
from fedflm.train.phases import phase_of_round
from fedflm.train.resample import resample_loader
from fedflm.train.schedule import round_lr
from fedflm.train.memory import return_freed_memory

app = ClientApp(mods=[secagg_mod])  # issue 21: SecAgg+ for --secagg rounds, else a pass-through
log = logging.getLogger("fedflm.client")


@lru_cache(maxsize=1)
def _model(cfg: ModelConfig, label_names: tuple[str, ...], seed: int):
    """One model per worker process; every round overwrites all trainable tensors."""
    return build_model(cfg, label_names, seed), load_tokenizer(cfg)


@lru_cache(maxsize=256)  # one entry per partition this worker serves (5 of 10 on 2 cores)
def _tokenized(cfg: RunConfig, partition_id: int, num_clients: int) -> TokenizedDataset:
    ds, names = client_partition(cfg.data, partition_id, num_clients, cfg.fed.seed)
    _, tok = _model(cfg.model, names, cfg.fed.seed)
    return TokenizedDataset(ds, tok, cfg.data.max_length, cfg.data.long_text)


def run_config_from_message(msg: Message) -> RunConfig:
    """The run's config as sent by the server (scalars only; server-round dropped)."""
    skip = ("server-round", *leakage.RECORD_KEYS)  # issue 22: the leakage check's key and digests
    flat = {k: v for k, v in msg.content["config"].items() if k not in skip}
    return RunConfig.from_flat(flat)


def _load_data(node: NodeRound, node_config: dict[str, Any]) -> tuple[Any, TokenizedDataset, list[str]]:
    """(model, tokenized data, texts) of this owner: its store, a prepared store, or its partition."""
    cfg = node.cfg
    if node.settings.deployed:
        ds, names = owner_dataset({"store": str(node.settings.store), "key-file": str(node.settings.key_file)})
    elif cfg.data.prepare:
        ds, names = owner_dataset(prepared_node_config(cfg.fed.out, node.partition_id))
    else:
        num_clients = int(node_config["num-partitions"])
        ds, names = client_partition(cfg.data, node.partition_id, num_clients, cfg.fed.seed)
        model, _ = _model(cfg.model, names, cfg.fed.seed)
        return model, _tokenized(cfg, node.partition_id, num_clients), list(ds["text"])
    model, tok = _model(cfg.model, names, cfg.fed.seed)
    return model, TokenizedDataset(ds, tok, cfg.data.max_length, cfg.data.long_text), list(ds["text"])


def _leakage_check(node: NodeRound, msg: Message, texts: list[str],
                   data: TokenizedDataset) -> tuple[TokenizedDataset, int | None]:
    """issue 22: the owner's side of the leakage check (fedflm/data/leakage.py): its records are hashed
    here, under the run's key. Returns (data to train on, the count to send or None).

    The count is exact, not DP-protected: a curious server could put a guessed text among its
    "held-out" hashes and learn whether this owner holds it. So the owner's policy decides
    (``share_leakage_count``, off by default on a deployed node): without it, matches are simply
    excluded here, whatever the run asks, and nothing about them leaves (no count, no refusal)."""
    mode = node.cfg.data.on_leakage
    if mode == "off":
        return data, None
    try:
        key, digests = leakage.from_record(msg.content["config"])
    except ConfigError as exc:
        raise PolicyRefused(Refusal.REQUEST, str(exc)) from None
    rows = leakage.overlap(key, texts, digests)
    share = node.settings.policy.share_leakage_count
    if share and rows and mode == "fail":
        raise PolicyRefused(Refusal.LEAKAGE, f"{len(rows)} of this owner's records are in the server's "
                                             "evaluation set and the run asks to fail on leakage")
    exclude = not share or mode == "exclude"
    if rows:
        action = ("excluded from this run" if share else "excluded here (this node's policy sends no count)") \
            if exclude else "kept: --on-leakage warn"
        log.warning("leakage check: %d of %d records are in the server's evaluation set; %s", len(rows),
                    len(texts), action)
    return (data.without(rows) if exclude else data), (len(rows) if share else None)


def _reseed_globals(settings: OwnerSettings, run_id: str, server_round: int) -> None:
    """The model builder seeds torch's global generator from the server's seed: replace it
    with the owner's randomness (dropout and anything else drawing from it)."""
    seed = round_seed(settings, f"globals|{run_id}", server_round)
    torch.manual_seed(seed if seed is not None else secrets.randbits(63))


def _proto_round(node: NodeRound, model: Any, cache: Any,
                 data: TokenizedDataset) -> tuple[TrainResult, PrivacyOutcome | None]:
    """issue 15: round 1 of a prototype run. The head this owner sends is its per-class sums of the
    frozen sentence vectors (noisy under DP, recorded in its ledger first; fedflm.privacy.prototypes).
    Under DP the server averages uniformly, so sums go as they are; without DP it weights by the
    example count, so they go divided by it: either way the aggregate is proportional to the total.
    With sliding windows one vector per document goes in: its windows' mean (fedflm/train/documents.py)."""
    cfg, s, t0 = node.cfg, node.settings, time.perf_counter()
    x, y = cache.vectors()
    x, y = document_vectors(x, data.documents()), torch.as_tensor(data.labels, dtype=torch.long)
    classes = head_linear(model).out_features
    run_id = cfg.privacy.ledger_run_id

    def release(sigma: float) -> torch.Tensor:
        seed = round_seed(s, f"prototypes|{run_id}", node.server_round)
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        return noisy_class_sums(x, y, classes, sigma, gen, secure_mode=s.secure_mode)

    if cfg.privacy.dp == "sample":
        sums, privacy = private_prototypes(cfg, owner_privacy(node), len(y), node.server_round, release,
                                           guard=round_guard(node), publish_ledger=s.policy.publish_ledger)
    else:
        sums, privacy = release(0.0) / max(len(y), 1), None
    set_head(model, sums.float(), torch.zeros(classes))
    own = prototype_head(sums, cfg.train.proto_scale)["weight"]  # the loss sent without DP: own prototypes' fit
    loss = float(torch.nn.functional.cross_entropy(x.float() @ own.T, y))
    return TrainResult(loss=loss, steps=0, examples=len(y), seconds=time.perf_counter() - t0), privacy


def _train_round(node: NodeRound, model: Any, data: TokenizedDataset) -> tuple[Any, PrivacyOutcome | None]:
    cfg, s = node.cfg, node.settings
    device = resolve_device(cfg.model.device)
    # issue 15: this round's phase (prototypes / head / LoRA) and what it trains on; the frozen
    # part's output is cached in memory per owner and run (fedflm/train/plan.py, fedflm/train/cache.py)
    cache = owner_cache(model, data, device, (cfg.privacy.run_id, cfg.fed.out, node.partition_id))
    if phase_of_round(cfg.train, cfg.fed.rounds, node.server_round, cfg.privacy.dp,
                      cfg.privacy.noise_multiplier is not None) == "proto":
        return _proto_round(node, model, cache, data)
    seed = cfg.fed.round_seed(node.server_round, node.partition_id)
    module, loader, _phase = round_module(model, data, cfg, node.server_round, seed, cache)
    # issue 22: resampling by the owner's own label counts, the round's learning rate (fedflm/train/)
    loader = resample_loader(loader, cfg.train.resample, seed, dp_sample=cfg.privacy.dp == "sample")
    loader = augment_loader(loader, cfg.train.augment, seed)  # records stay the DP units
    # a resumed deployment's segment numbers its rounds past its own count (rounds = those left), and a
    # server may ask for a round past the owner's policy (refused as typed data by the guard below):
    # neither may crash here, so the schedule's position is capped at its last round
    train_cfg = replace(cfg.train, lr=round_lr(cfg.train, cfg.fed.rounds, min(node.server_round, cfg.fed.rounds)))
    run = lambda privatize=None: train_local(module, loader, train_cfg, device, privatize,  # noqa: E731
                                             proximal_mu=cfg.agg.proximal_mu)  # issue 21: FedProx
    if cfg.privacy.dp != "sample":
        return run(), None
    run_id = cfg.privacy.ledger_run_id
    units = len(loader.dataset)  # distinct records (or documents): resample_loader refuses duplicates under DP-SGD
    result, privacy = train_private(cfg, owner_privacy(node), units, node.server_round, run,
                                    guard=round_guard(node), publish_ledger=s.policy.publish_ledger,
                                    noise_seed=round_seed(s, run_id, node.server_round))
    return result, privacy


def _amplified(node: NodeRound) -> dict[str, float]:
    """issue 24: the owner's amplified epsilon (coarse) when the run and the owner's policy ask for it."""
    eps, line = amplified_view(node.settings.policy, node.cfg, owner_privacy(node).entries(), node.server_round)
    if line and node.settings.deployed:
        announce(node.settings.owner_dir, f"run {node.cfg.privacy.ledger_run_id!r} round {node.server_round}: {line}")
    return {} if eps is None else {"epsilon-amplified": round(coarse_epsilon(eps), 2)}


def _request(msg: Message) -> tuple[RunConfig, int]:
    """The server's request: its run config and round (raises on a malformed one)."""
    return run_config_from_message(msg), int(msg.content["config"]["server-round"])


def _task(msg: Message) -> str:
    config = msg.content["config"] if "config" in msg.content else None
    return str(config.get("task", "classify")) if isinstance(config, ConfigRecord) else "classify"


@app.train()
def train(msg: Message, context: Context) -> Message:
    if _task(msg) == "causal-lm":  # issue 25: the causal-LM round (clients/causal_lm.py)
        from clients.causal_lm import train_causal_lm
        return train_causal_lm(msg, context)
    if _task(msg) == "recommend":  # issue 25 part 2: the recommendation round (clients/recommend.py)
        from clients.recommend import train_recommend
        return train_recommend(msg, context)
    try:
        cfg, server_round = _request(msg)
    except (ConfigError, ValueError, KeyError, TypeError) as exc:
        return refusal(msg, None, Refusal.REQUEST, f"malformed request: {exc}")
    settings, pid = owner_settings(context, cfg)
    node = NodeRound(settings, cfg, server_round, pid)
    try:
        check_request(settings.policy, cfg, deployed=settings.deployed, masked=is_masked())
        if settings.deployed:  # issue 25: a causal-lm / recommend store never serves a classification run
            require_store_task(settings, "classify")
        node = NodeRound(settings, effective_config(cfg, settings), server_round, pid)
        model, data, texts = _load_data(node, dict(context.node_config))
        data, leaked = _leakage_check(node, msg, texts, data)
        del texts
        if settings.deployed:
            check_examples(settings.policy, len(data), node.cfg.privacy.dp)
            _reseed_globals(settings, node.cfg.privacy.run_id, server_round)
        attacking = not settings.deployed and pid in attacker_ids(cfg.agg, int(context.node_config.get(
            "num-partitions", cfg.fed.clients)), cfg.fed.seed)  # issue 21: simulated attackers only
        if attacking and cfg.agg.attack == "labelflip":
            data = flipped_labels(data, pooled_classifier(model).classifier.out_features)
        set_adapter_state(model, from_record(msg.content["arrays"]))
        result, privacy = _train_round(node, model, data)
    except PolicyRefused as exc:
        return refusal(msg, node, exc.code, str(exc))
    except PrivacyBudgetExceeded as exc:  # refuse: nothing trained, nothing sent
        return refusal(msg, node, Refusal.BUDGET, str(exc))
    announce_round(node, len(data), privacy)
    metrics = reply_metrics(node.cfg.privacy.dp, pid, loss=result.loss, num_examples=len(data), privacy=privacy,
                            secagg=cfg.agg.secagg)
    if privacy is not None:  # issue 24: an additional, labelled figure; the ledger stays unamplified
        metrics.update(_amplified(node))
    if leaked is not None:  # issue 22: the one number the leakage check sends
        metrics["leakage-overlap"] = leaked
    state = get_adapter_state(model)
    if attacking:  # evaluation only: a poisoned update (post-processing of the DP output)
        state = poison(cfg.agg, from_record(msg.content["arrays"]), state,
                       np.random.default_rng([cfg.fed.seed, pid, server_round]))
    reply = RecordDict({"arrays": to_record(state), "metrics": MetricRecord(metrics)})
    if privacy is not None:
        reply["privacy"] = ConfigRecord(reply_privacy(privacy))
    return_freed_memory(resolve_device(node.cfg.model.device))  # a worker serves many rounds: give the heap back
    return Message(content=reply, reply_to=msg)

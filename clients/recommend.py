"""The ClientApp's ``--task recommend`` round (issue 25, part 2): a simulated owner trains the
bi-encoder's towers on its own users' interactions and returns only the tower tensors.

``clients/app.py`` sends a message here when its run config says ``task = recommend``. The owner's
side is the classification task's: the request is checked against the owner's policy
(:func:`fedflm.owner.policy.check_request`), the owner's delta, accountant, cap and state replace
the server's (:func:`~fedflm.owner.policy.effective_config`), replays and rounds are refused from
its ledger, and under ``dp = sample`` the round goes through
:func:`fedflm.privacy.federation.train_private` (ledger fsync'd before the update leaves) with
``num_examples`` = the owner's number of *users*: one user is one privacy unit (q = batch / users;
a user's record gradients are averaged before clipping, fedflm/recommend/users.py). What the reply
carries is :mod:`fedflm.owner.reply`'s. A deployed node (``fedflm client start``) reads its interactions from
its encrypted store (``fedflm data prepare --task recommend``: pseudonymous users, order only), builds its users'
records with its own catalogue and its own randomness for the sampled negatives, and never reads a file that the
server's request names.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from flwr.app import Context, Message

from clients.node import NodeRound
from clients.task_round import batch_seed, local_round, owner_seed, serve_round
from fedflm.errors import DataError
from fedflm.owner.task_store import read_interactions
from fedflm.privacy.federation import PrivacyOutcome
from fedflm.protect.keys import read_key_file
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.heldout import set_towers_state, towers_state
from fedflm.recommend.model import TwoTower, encode_texts, load_encoder
from fedflm.recommend.records import by_user, catalogue, user_examples
from fedflm.recommend.split import split_users, user_rng
from fedflm.recommend.train import train_towers
from fedflm.recommend.users import user_dataset, user_loader
from fedflm.train.documents import Documents
from fedflm.train.local import TrainResult


@lru_cache(maxsize=1)
def _encoder(name: str, pooling: str) -> tuple[Any, Any]:
    """One frozen encoder per worker process."""
    return load_encoder(name, pooling)


#: the settings that do not decide an owner's data set; every other field (a new one too) is part of the key
NOT_DATA = ("rounds", "local_steps", "batch_size", "lr", "out", "round_timeout", "embed_dim", "privacy")
_DEFAULTS = RecommendRunConfig()


def data_key(cfg: RecommendRunConfig) -> RecommendRunConfig:
    """The cache key of an owner's encoded users: ``cfg`` with the :data:`NOT_DATA` settings at their defaults."""
    return dataclasses.replace(cfg, **{name: getattr(_DEFAULTS, name) for name in NOT_DATA})


@lru_cache(maxsize=64)  # one entry per simulated owner this worker serves
def owner_users(cfg: RecommendRunConfig, partition_id: int) -> Documents:
    """This simulated owner's users, their texts encoded once by the frozen encoder."""
    return _encoded(cfg, split_users(cfg).owners[partition_id])


def _encoded(cfg: RecommendRunConfig, users: Any) -> Documents:
    encoder, tok = _encoder(cfg.model, cfg.pooling)
    texts = [t for u in users for e in u.examples for t in (e.history, e.candidate)]
    return user_dataset(users, encode_texts(encoder, tok, texts, cfg.max_length))


def owner_examples(log: list[Any], max_history: int, train_negatives: int, seed: int) -> list[Any]:
    """A deployed owner's users' training records, each a function of that user's own rows and the seed only.

    A user's sampled negatives come from that user's OWN shown-but-not-taken items, never from the owner's
    whole catalogue: an item only one user took would otherwise appear in other users' records, and one
    user's presence would change other users' data (outside per-user DP). Users without a history are left
    out."""
    users = by_user(log)
    examples = [user_examples(u, users[u], catalogue(users[u]), max_history, train_negatives,
                              user_rng(seed, u, "train")) for u in sorted(users)]
    return [e for e in examples if e.examples]


def deployed_users(node: NodeRound, cfg: RecommendRunConfig) -> Documents:
    """A deployed owner's users from its store (:func:`owner_examples`), the negatives drawn with the owner's
    randomness (its seed fixes them for the run with secure mode off; fresh from the OS each round in secure
    mode), their texts encoded by the frozen encoder."""
    s = node.settings
    log = read_interactions(str(s.store), read_key_file(str(s.key_file)))
    examples = owner_examples(log, cfg.max_history, cfg.train_negatives, owner_seed(node, "negatives", 0))
    if not examples:
        raise DataError("no user in this owner's store has an interaction after a first positive one: "
                        "nothing to train on")
    return _encoded(cfg, examples)


def _train(node: NodeRound, cfg: RecommendRunConfig,
           arrays: dict) -> tuple[dict, TrainResult, PrivacyOutcome | None, int]:
    """One round of local training on the owner's users (one user = one privacy unit)."""
    data = deployed_users(node, cfg) if node.settings.deployed else owner_users(data_key(cfg), node.partition_id)
    encoder, _ = _encoder(cfg.model, cfg.pooling)
    model = TwoTower(int(encoder.config.hidden_size), cfg.embed_dim, seed=0)
    set_towers_state(model, arrays)
    loader = user_loader(data, cfg.batch_size, batch_seed(node))
    result, privacy = local_round(node, len(data), lambda privatize=None: train_towers(
        model, loader, cfg.local_steps, cfg.lr, privatize))
    return towers_state(model), result, privacy, len(data)


def train_recommend(msg: Message, context: Context) -> Message:
    """The ClientApp's train handler for ``task = recommend``."""
    return serve_round(msg, context, RecommendRunConfig, _train)

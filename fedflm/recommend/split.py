"""Who holds which users in a simulated recommendation federation, and the server's held-out users.

The log (or ``synthetic:N``) is read once; users are shuffled with the run's seed; the first
``eval_fraction`` of the users with at least two positives are held out (the server's evaluation
set: they never train); the others are dealt round-robin to the owners -- an owner holds whole
users, so a user's interactions never span two owners. The launcher, every simulated owner and
the server derive the same split. Sampling (training negatives, evaluation candidates) is seeded
per user, so it does not depend on which process builds it. A deployed server holds out the users of its
own ``--eval-file`` log instead (:func:`server_split`).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from fedflm.errors import ConfigError, DataError
from fedflm.recommend.log import read_log
from fedflm.recommend.config import SYNTHETIC, RecommendRunConfig
from fedflm.recommend.log import Interaction
from fedflm.recommend.records import EvalCase, UserExamples, by_user, catalogue, eval_case, user_examples
from fedflm.recommend.synthetic import synthetic_log

__all__ = ["Split", "load_log", "server_split", "split_users", "user_rng", "validation_split"]


@dataclass(frozen=True)
class Split:
    owners: tuple[tuple[UserExamples, ...], ...]  # each owner's users
    cases: tuple[EvalCase, ...]  # the held-out users' ranking cases
    popularity: dict[str, int]  # item_id -> positives among the owners' users (the baseline's scores)


def load_log(dataset: str, seed: int) -> list[Interaction]:
    if dataset.startswith(SYNTHETIC):
        return synthetic_log(int(dataset.partition(":")[2] or 600), seed=seed)
    return read_log(dataset)


def user_rng(seed: int, user: str, purpose: str) -> random.Random:
    """A generator of one user's sampling, independent of process and order."""
    digest = hashlib.sha256(f"{seed}|{purpose}|{user}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _held_out(order: list[str], users: dict[str, list[Interaction]], fraction: float) -> set[str]:
    """The first ``fraction`` of the users (in ``order``) with at least two positives."""
    eligible = [u for u in order if sum(r.label for r in users[u]) >= 2]
    return set(eligible[:max(1, round(fraction * len(eligible)))]) if eligible else set()


def _deal(cfg: RecommendRunConfig, users: dict[str, list[Interaction]], items: dict[str, str],
          order: list[str], held: set[str]) -> Split:
    """The users not in ``held`` dealt round-robin to the owners; ``held``'s ranking cases."""
    train = [u for u in order if u not in held]
    if len(train) < cfg.clients or not held:
        raise DataError(f"{cfg.dataset}: {len(train)} training users and {len(held)} held-out users "
                        f"(with >= 2 positives) for {cfg.clients} clients")
    examples = [user_examples(u, users[u], items, cfg.max_history, cfg.train_negatives, user_rng(cfg.seed, u, "train"))
                for u in train]
    owners = tuple(tuple(e for e in examples[i::cfg.clients] if e.examples) for i in range(cfg.clients))
    if not all(owners):
        raise DataError(f"{cfg.dataset}: an owner has no user with a history (users need >= 1 earlier positive)")
    cases = tuple(c for u in order if u in held for c in [eval_case(u, users[u], items, cfg.max_history,
                  cfg.eval_positives, cfg.eval_negatives, user_rng(cfg.seed, u, "eval"))] if c is not None)
    popularity = Counter(r.item_id for u in train for r in users[u] if r.label == 1)
    return Split(owners, cases, dict(popularity))


@lru_cache(maxsize=4)
def split_users(cfg: RecommendRunConfig) -> Split:
    """(each owner's users' training records, the held-out users' cases, the popularity counts)."""
    if cfg.eval_file:
        raise ConfigError("--eval-file is the server's own held-out log in a deployment (fedflm server start); "
                          "a simulation holds out --eval-fraction of its users")
    log = load_log(cfg.dataset, cfg.seed)
    users = by_user(log)
    order = random.Random(cfg.seed).sample(sorted(users), len(users))
    return _deal(cfg, users, catalogue(log), order, _held_out(order, users, cfg.eval_fraction))


def validation_split(cfg: RecommendRunConfig, fraction: float = 0.2) -> Split:
    """For tuning: :func:`split_users` applied to the *training* users only. The run's held-out users are
    dropped first (they never appear here); ``fraction`` of the remaining users (with >= 2 positives) become
    the validation users, ranked like held-out users; the rest are dealt to the owners. The popularity
    counts are the owners' only."""
    log = load_log(cfg.dataset, cfg.seed)
    users = by_user(log)
    order = random.Random(cfg.seed).sample(sorted(users), len(users))
    held = _held_out(order, users, cfg.eval_fraction)
    rest = {u: rows for u, rows in users.items() if u not in held}
    inner = random.Random(f"{cfg.seed}|validation").sample(sorted(rest), len(rest))
    return _deal(cfg, rest, catalogue(log), inner, _held_out(inner, rest, fraction))


def server_split(cfg: RecommendRunConfig, deployed: bool) -> Split:
    """The server's held-out users and popularity counts. In simulation :func:`split_users`'s; in deployment
    every user with >= 2 positives in the server's own ``eval_file`` log is a ranking case (its own catalogue
    gives the negatives) and the popularity baseline counts the positives of those users' histories (their
    held-out positives excluded): no owner's interactions ever reach the server."""
    if not deployed:
        return split_users(cfg)
    if not cfg.eval_file:
        raise DataError("a deployed --task recommend run needs --eval-file: the server's own held-out users' log")
    log = read_log(cfg.eval_file)
    items, users = catalogue(log), by_user(log)
    cases = tuple(c for u in sorted(users) for c in [eval_case(u, users[u], items, cfg.max_history,
                  cfg.eval_positives, cfg.eval_negatives, user_rng(cfg.seed, u, "eval"))] if c is not None)
    if not cases:
        raise DataError(f"{cfg.eval_file}: no user with >= 2 positive interactions to hold out")
    held = {(c.user_id, i) for c in cases for i, r in zip(c.candidate_ids, c.relevant) if r}
    popularity = Counter(r.item_id for u, rows in users.items() for r in rows
                         if r.label == 1 and (u, r.item_id) not in held)
    return Split((), cases, dict(popularity))

"""From an interaction log to the model's records: per-user training examples and held-out cases.

A record is ``(history text, candidate item text, label)``. The history is the user's earlier
*positive* interactions' item texts, most recent first, joined by " | " and cut to ``max_history``
items (the tokenizer then cuts it to ``max_length`` tokens).

* **Training** (an owner's users): every interaction with at least one earlier positive is a
  record with its own label; each positive also gets ``train_negatives`` sampled negatives
  (catalogue items the user never took, same history), so a log of positives only still trains.
  All records of a user stay together: the user is the privacy unit (:class:`UserExamples`).
* **Evaluation** (held-out users, who never train): the user's last ``eval_positives`` positives
  are held out; the history is the positives before them; the candidates are those positives and
  ``eval_negatives`` catalogue items the user never took (seeded per user). See metrics.py.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from fedflm.recommend.log import Interaction

__all__ = ["EvalCase", "Example", "UserExamples", "catalogue", "eval_case", "history_text", "user_examples",
           "by_user"]

SEPARATOR = " | "


@dataclass(frozen=True)
class Example:
    history: str
    candidate: str
    label: int


@dataclass(frozen=True)
class UserExamples:
    """All training records of one user: one privacy unit."""

    user_id: str
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class EvalCase:
    """A held-out user's ranking task: one history, candidates, which of them are held-out positives."""

    user_id: str
    history: str
    candidate_ids: tuple[str, ...]
    candidates: tuple[str, ...]
    relevant: tuple[int, ...]  # 1 for a held-out positive, 0 for a sampled negative


def by_user(log: list[Interaction]) -> dict[str, list[Interaction]]:
    """Each user's interactions in time order (ties keep the log's order)."""
    users: dict[str, list[Interaction]] = defaultdict(list)
    for row in log:
        users[row.user_id].append(row)
    return {u: sorted(rows, key=lambda r: r.timestamp) for u, rows in users.items()}


def catalogue(log: list[Interaction]) -> dict[str, str]:
    """item_id -> item text (the first text the log gives for the id), in the log's order."""
    items: dict[str, str] = {}
    for row in log:
        items.setdefault(row.item_id, row.item_text)
    return items


def history_text(texts_oldest_first: list[str], max_history: int) -> str:
    """Most recent first, at most ``max_history`` items."""
    return SEPARATOR.join(reversed(texts_oldest_first[-max_history:]))


def _untaken(rows: list[Interaction], items: dict[str, str]) -> list[str]:
    taken = {r.item_id for r in rows if r.label == 1}
    return [i for i in items if i not in taken]


def user_examples(user: str, rows: list[Interaction], items: dict[str, str], max_history: int,
                  train_negatives: int, rng: random.Random) -> UserExamples:
    """The training records of one user (``rows`` in time order)."""
    pool = _untaken(rows, items)
    seen: list[str] = []
    out = []
    for row in rows:
        if seen:
            history = history_text(seen, max_history)
            out.append(Example(history, row.item_text, row.label))
            if row.label == 1:
                out += [Example(history, items[i], 0) for i in rng.sample(pool, min(train_negatives, len(pool)))]
        if row.label == 1:
            seen.append(row.item_text)
    return UserExamples(user, tuple(out))


def eval_case(user: str, rows: list[Interaction], items: dict[str, str], max_history: int,
              eval_positives: int, eval_negatives: int, rng: random.Random) -> EvalCase | None:
    """A held-out user's ranking case, or None when it has fewer than 2 positives (no history left)."""
    positives = [r for r in rows if r.label == 1]
    if len(positives) < 2:
        return None
    k = min(eval_positives, len(positives) - 1)
    history, held = positives[:-k], positives[-k:]
    pool = _untaken(rows, items)
    negatives = rng.sample(pool, min(eval_negatives, len(pool)))
    held_ids = list(dict.fromkeys(r.item_id for r in held))  # an item taken twice is one candidate
    ids = tuple(held_ids + negatives)
    return EvalCase(user, history_text([r.item_text for r in history], max_history), ids,
                    tuple(items[i] for i in ids), tuple([1] * len(held_ids) + [0] * len(negatives)))

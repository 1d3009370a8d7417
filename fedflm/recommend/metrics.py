"""Ranking metrics on held-out users, and the popularity baseline.

Protocol (one :class:`~fedflm.recommend.records.EvalCase` per held-out user): the user's last
``eval_positives`` positives are held out; the candidates are those items and ``eval_negatives``
catalogue items the user never took (seeded per user, the same for every model); a model scores
every candidate against the user's history (the positives before the held-out ones). Per user:

* **AUC** -- the share of (held-out positive, negative) pairs the model orders correctly; a tie
  counts one half.
* **HitRate@k** -- 1 when at least one held-out positive is among the top ``k`` candidates.
* **NDCG@k** -- ``sum(1 / log2(rank + 1))`` over the held-out positives ranked within the top ``k``,
  divided by the same sum for the ideal order (all positives first).

The top-``k`` order sorts by score; candidates with equal scores are ordered by a fixed per-user
random key (seeded by the user id), the same for every model, so the popularity baseline's many
ties are broken neither for nor against it. The figures are means over held-out users.

**Popularity baseline**: a candidate's score is its number of positive interactions among the
owners' (training) users. It is a non-private reference: in a federation no owner releases these
counts; it shows what the learnt model must beat.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fedflm.recommend.records import EvalCase

__all__ = ["auc", "evaluate", "hit_rate_at_k", "ndcg_at_k", "popularity_scores", "rank_order"]

K = 10


def auc(scores: Sequence[float], relevant: Sequence[int]) -> float:
    """Pairwise AUC of positives over negatives (ties one half); NaN without both kinds."""
    s, r = np.asarray(scores, dtype=float), np.asarray(relevant, dtype=bool)
    pos, neg = s[r], s[~r]
    if not len(pos) or not len(neg):
        return math.nan
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def rank_order(scores: Sequence[float], tiebreak: Sequence[float] | None = None) -> list[int]:
    """Candidate indices best first: by score, then by ``tiebreak`` (ascending), then by index."""
    keys = tiebreak if tiebreak is not None else [0.0] * len(scores)
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), float(keys[i]), i))


def hit_rate_at_k(order: Sequence[int], relevant: Sequence[int], k: int = K) -> float:
    return float(any(relevant[i] for i in order[:k]))


def ndcg_at_k(order: Sequence[int], relevant: Sequence[int], k: int = K) -> float:
    dcg = sum(1.0 / math.log2(rank + 2) for rank, i in enumerate(order[:k]) if relevant[i])
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(sum(relevant), k)))
    return dcg / ideal if ideal else math.nan


def _tiebreak(case: EvalCase) -> list[float]:
    from fedflm.recommend.split import user_rng

    rng = user_rng(0, case.user_id, "ties")
    return [rng.random() for _ in case.candidates]


def evaluate(cases: Sequence[EvalCase], score: Callable[[EvalCase], Sequence[float]], k: int = K) -> dict[str, float]:
    """Mean AUC, HitRate@k and NDCG@k over ``cases`` of ``score(case)`` (one score per candidate)."""
    rows = []
    for case in cases:
        s = list(score(case))
        order = rank_order(s, _tiebreak(case))
        rows.append((auc(s, case.relevant), hit_rate_at_k(order, case.relevant, k), ndcg_at_k(order, case.relevant, k)))
    a, h, n = (np.array(col, dtype=float) for col in zip(*rows)) if rows else ([math.nan],) * 3
    return {"auc": round(float(np.nanmean(a)), 5), f"hit_rate_at_{k}": round(float(np.nanmean(h)), 5),
            f"ndcg_at_{k}": round(float(np.nanmean(n)), 5), "users": len(rows)}


def popularity_scores(popularity: Mapping[str, int]) -> Callable[[EvalCase], list[float]]:
    """The baseline's scorer: each candidate's positive count among the training users."""
    return lambda case: [float(popularity.get(i, 0)) for i in case.candidate_ids]

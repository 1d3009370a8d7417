"""A seeded interaction log with signal, for tests and the built-in ``synthetic:N`` set.

Items belong to topics (music, cooking, ...); an item's text is made of its topic's words, e.g.
"jazz saxophone album". Within a topic, item popularity follows a Zipf law, so a popularity
baseline is not trivial. Every user has two favourite topics (their latent preference): most of
their positive interactions (label 1) are items of those topics, the rest any item; their
negative impressions (label 0) are items of other topics. So a user's history text says which
topics a candidate should be about -- the signal a recommender has to learn. No personal data.
"""

from __future__ import annotations

import random

from fedflm.errors import DataError
from fedflm.recommend.log import Interaction

__all__ = ["TOPICS", "synthetic_log"]

#: topic -> its words; an item's text is two of its topic's words and a form
TOPICS: dict[str, tuple[str, ...]] = {
    "jazz": ("jazz", "saxophone", "swing", "trumpet", "bebop", "blues"),
    "cooking": ("recipes", "kitchen", "baking", "pasta", "spices", "soup"),
    "space": ("rockets", "planets", "galaxy", "astronaut", "orbit", "telescope"),
    "garden": ("roses", "compost", "seeds", "tulips", "orchard", "herbs"),
    "football": ("football", "goal", "striker", "league", "stadium", "coach"),
    "history": ("empire", "medieval", "castle", "pharaoh", "revolution", "ancient"),
    "coding": ("python", "compiler", "database", "algorithm", "debugging", "linux"),
    "travel": ("beaches", "islands", "mountains", "passport", "backpacking", "hotels"),
}
_FORMS = ("album", "book", "film", "guide", "podcast", "magazine")


def _catalogue(items: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(item_id, topic, text) for ``items`` items, spread over the topics."""
    topics = list(TOPICS)
    out = []
    for j in range(items):
        topic = topics[j % len(topics)]
        a, b = rng.sample(TOPICS[topic], 2)
        out.append((f"i{j:04d}", topic, f"{a} {b} {rng.choice(_FORMS)}"))
    return out


def synthetic_log(users: int, items: int = 120, *, positives: tuple[int, int] = (6, 14), negatives: int = 6,
                  focus: float = 0.85, seed: int = 0) -> list[Interaction]:
    """A seeded log of ``users`` users over ``items`` items: per user ``positives`` (min, max) positive
    interactions, ``focus`` of them from the user's two favourite topics, and ``negatives`` impressions
    of other topics' items (label 0). Timestamps increase along each user's history."""
    if users < 1 or items < 2 * len(TOPICS) or negatives < 0 or not 0 <= focus <= 1:
        raise DataError(f"synthetic_log needs users >= 1, items >= {2 * len(TOPICS)}, negatives >= 0 and focus "
                        f"in [0, 1], got users={users}, items={items}, negatives={negatives}, focus={focus}")
    lo, hi = positives
    if not 2 <= lo <= hi:
        raise DataError(f"synthetic_log needs 2 <= min positives <= max positives, got {positives}")
    rng = random.Random(seed)
    catalogue = _catalogue(items, rng)
    by_topic: dict[str, list[tuple[str, str, str]]] = {t: [c for c in catalogue if c[1] == t] for t in TOPICS}
    zipf = {t: [1.0 / (rank + 1) ** 0.9 for rank in range(len(v))] for t, v in by_topic.items()}
    log: list[Interaction] = []
    for u in range(users):
        favourite = rng.sample(list(TOPICS), 2)
        events = []
        for _ in range(rng.randint(lo, hi)):
            topic = rng.choice(favourite) if rng.random() < focus else rng.choice(list(TOPICS))
            events.append((rng.choices(by_topic[topic], weights=zipf[topic])[0], 1))
        others = [c for c in catalogue if c[1] not in favourite]
        events += [(rng.choice(others), 0) for _ in range(negatives)]
        rng.shuffle(events)
        t = 1_700_000_000.0 + rng.randrange(86_400)
        for (item_id, _, text), label in events:
            t += rng.randrange(60, 86_400)
            log.append(Interaction(f"u{u:05d}", item_id, text, t, label))
    return log

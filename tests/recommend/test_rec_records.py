"""Records from a log: history text, training examples per user, held-out cases, the owners' split."""

from __future__ import annotations

import random

import pytest

from fedflm.errors import DataError
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.log import Interaction
from fedflm.recommend.records import catalogue, eval_case, history_text, user_examples
from fedflm.recommend.split import split_users, validation_split


def _rows(spec: list[tuple[str, int]]) -> list[Interaction]:
    return [Interaction("u", item, f"text {item}", float(t), label) for t, (item, label) in enumerate(spec)]


ITEMS = {f"i{k}": f"text i{k}" for k in range(8)}


def test_history_is_most_recent_first_and_truncated():
    assert history_text(["a", "b", "c", "d"], 3) == "d | c | b"


def test_user_examples_use_earlier_positives_only_and_untaken_negatives():
    # Prepare: i0 +, i1 -, i2 +, i3 +
    rows = _rows([("i0", 1), ("i1", 0), ("i2", 1), ("i3", 1)])
    # Execute
    ex = user_examples("u", rows, ITEMS, max_history=5, train_negatives=1, rng=random.Random(0)).examples
    # Assert: the first row has no history; the rest carry their own label plus one sampled negative per positive
    logged = [(e.history, e.candidate, e.label) for e in ex if e.candidate in ("text i1", "text i2", "text i3")
              and not (e.label == 0 and e.candidate != "text i1")]
    assert logged == [("text i0", "text i1", 0), ("text i0", "text i2", 1), ("text i2 | text i0", "text i3", 1)]
    sampled = [e for e in ex if e.label == 0 and e.candidate != "text i1"]
    assert len(sampled) == 2 and {e.candidate for e in sampled} <= {f"text i{k}" for k in (1, 4, 5, 6, 7)}


def test_eval_case_holds_out_last_positives_and_samples_untaken_negatives():
    rows = _rows([("i0", 1), ("i1", 0), ("i2", 1), ("i3", 1), ("i4", 1)])
    case = eval_case("u", rows, ITEMS, max_history=5, eval_positives=2, eval_negatives=3, rng=random.Random(0))
    assert case.history == "text i2 | text i0"
    assert case.candidate_ids[:2] == ("i3", "i4") and case.relevant == (1, 1, 0, 0, 0)
    assert set(case.candidate_ids[2:]) <= {"i1", "i5", "i6", "i7"}
    assert eval_case("u", _rows([("i0", 1), ("i1", 0)]), ITEMS, 5, 2, 3, random.Random(0)) is None


def test_catalogue_keeps_first_text():
    log = [Interaction("u", "i", "first", 1.0, 1), Interaction("v", "i", "second", 2.0, 1)]
    assert catalogue(log) == {"i": "first"}


def test_split_is_by_user_deterministic_and_holds_users_out():
    cfg = RecommendRunConfig(dataset="synthetic:60", clients=3, eval_fraction=0.25, seed=2)
    split = split_users(cfg)
    owners = [{u.user_id for u in o} for o in split.owners]
    held = {c.user_id for c in split.cases}
    assert all(owners) and not (owners[0] & owners[1]) and not (owners[1] & owners[2])
    assert not held & set().union(*owners) and len(held) == 15
    again = split_users(RecommendRunConfig(dataset="synthetic:60", clients=3, eval_fraction=0.25, seed=2, lr=0.02))
    assert [[u.user_id for u in o] for o in again.owners] == [[u.user_id for u in o] for o in split.owners]
    assert again.cases == split.cases and sum(split.popularity.values()) > 0


def test_validation_split_is_carved_from_the_training_users_only():
    # Prepare
    cfg = RecommendRunConfig(dataset="synthetic:100", clients=2, eval_fraction=0.2, seed=1)
    run = split_users(cfg)
    trained = {u.user_id for o in run.owners for u in o}

    # Execute
    tuning = validation_split(cfg, fraction=0.25)

    # Assert: no held-out user of the run appears; validation users are the run's training users
    validation = {c.user_id for c in tuning.cases}
    tuning_owners = {u.user_id for o in tuning.owners for u in o}
    assert validation and validation <= trained and tuning_owners <= trained
    assert not validation & tuning_owners and not {c.user_id for c in run.cases} & (validation | tuning_owners)
    assert len(validation) == round(0.25 * len([u for u in trained if u in validation | tuning_owners]))


def test_split_too_few_users_is_one_clear_error():
    with pytest.raises(DataError, match=r"synthetic:4: 3 training users and 1 held-out users .* for 5 clients"):
        split_users(RecommendRunConfig(dataset="synthetic:4", clients=5))

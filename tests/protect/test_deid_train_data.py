"""The learned model's training data: firm and place hard negatives stay unlabelled, only the
persons among them are labelled, and no held-out locale feeds them."""

from __future__ import annotations

import random

import pytest

from fedflm.protect import deid_train_data as T
from fedflm.protect.deid_lexicon import HELDOUT_LOCALES

pytest.importorskip("faker")


def test_hard_negatives_label_only_persons_and_addresses() -> None:
    # Prepare
    rng = random.Random(3)
    vals = T._Values(rng, 3)

    # Execute
    filled = [T._fill(t, vals, rng) for t in T.HARD_TEMPLATES for _ in range(3)]

    # Assert: only the template's persons and addresses are labelled, never its firms and places
    for template, (text, spans) in zip([t for t in T.HARD_TEMPLATES for _ in range(3)], filled):
        labels = [label for _, _, label in spans]
        assert "{" not in text, text
        assert labels.count("PERSON") == template.count("{P}"), (template, spans)
        assert labels.count("STREET_ADDRESS") == template.count("{A}") and len(labels) == len(spans)
        assert len(spans) == template.count("{P}") + template.count("{A}")


def test_without_hard_negatives_the_data_is_unchanged() -> None:
    # Prepare
    plain = T.generate_training(30, seed=5, negatives=5)

    # Execute
    with_hard = T.generate_training(30, seed=5, negatives=5, hard=20)

    # Assert: the hard sentences are added, the others drawn exactly as before
    assert len(with_hard) == len(plain) + 20
    assert sorted(map(repr, plain)) == sorted(map(repr, [x for x in with_hard if x in plain]))
    hard = [x for x in with_hard if x not in plain]
    assert len(hard) == 20 and sum(bool(spans) for _, spans in hard) < 20


def test_no_heldout_locale_feeds_the_training_values() -> None:
    # Execute
    locales = T.training_locales()

    # Assert
    assert locales and not set(locales) & set(HELDOUT_LOCALES)


def test_firm_and_place_values_are_latin_names() -> None:
    # Prepare
    rng = random.Random(11)
    vals = T._Values(rng, 11)

    # Execute
    values = [vals.firm() for _ in range(40)] + [vals.place(k) for k in ("city", "country", "state") for _ in range(20)]

    # Assert
    assert all(v.strip() and T._latin(v) for v in values)

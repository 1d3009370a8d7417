"""Properties of prepare's de-identification, checked on the decrypted store.

* No generated number, e-mail, IP or address value survives, in any letter case.
* Names: drawn only from held-out lists (:func:`fedflm.protect.deid_lexicon.heldout_names`), names
  of locales that neither the name lexicon nor the learned model's training data hold, minus any
  token the lexicon knows. Detection of unseen names is not perfect, so the property is a floor on
  the share masked over a fixed sample in all three case variants (the benchmark reports the rate).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedflm.protect.deid import HIGH_RISK
from fedflm.protect.deid_lexicon import build_lexicon, heldout_names
from fedflm.protect.deid_synth import LOCALES, case_variants, generate
from fedflm.protect.keys import generate_key
from fedflm.protect.prepare import PrepareConfig, prepare_file
from fedflm.protect.store import open_store

KEY = generate_key()
HELDOUT = heldout_names(build_lexicon())


def _digit_runs(value: str) -> list[str]:
    """Identifying digit groups of a value (4+ digits: numbers, postcodes, card groups)."""
    return re.findall(r"\d{4,}", value)


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6),
       kinds=st.lists(st.sampled_from([k for k in HIGH_RISK if k != "PERSON"]), min_size=1, max_size=3),
       locale=st.sampled_from(LOCALES), case=st.sampled_from(["as written", "lower", "upper"]))
def test_no_generated_pii_survives_prepare(tmp_path_factory, seed: int, kinds: list[str], locale: str,
                                           case: str) -> None:
    # Prepare: Faker-generated values in a JSONL file, in one case variant
    tmp = tmp_path_factory.mktemp("prop")
    records = case_variants(generate(4, seed=seed, locales=(locale,), kinds=tuple(kinds)))[case]
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"text": r.text, "label": i % 2}) + "\n" for i, r in enumerate(records)))
    # Execute
    prepare_file(src, tmp / "store", KEY, PrepareConfig(text_column="text", label_column="label"))
    out = open_store(tmp / "store", KEY)["text"]
    # Assert: neither the value nor any of its 4+ digit groups is left in the decrypted text
    for rec, text in zip(records, out):
        for g in rec.gold:
            value = rec.text[g.start:g.end]
            assert value.lower() not in text.lower(), (g.entity, value, text)
            for run in _digit_runs(value):
                assert run not in text, (g.entity, value, text)


HELDOUT_NAME_FLOOR = 0.80  # measured 0.85-0.87 on seeds 0-2 (2026-12-01); rates: simulations/bench_deid.py (a)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_names_never_seen_are_mostly_masked_in_every_case(tmp_path, seed: int) -> None:
    # Prepare: 40 person records with held-out names, each as written, all lower and all upper
    records = [r for v in case_variants(generate(40, seed=seed, kinds=("PERSON",), names=HELDOUT)).values()
               for r in v]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": r.text, "label": i % 2}) + "\n" for i, r in enumerate(records)))
    # Execute
    prepare_file(src, tmp_path / "store", KEY, PrepareConfig(text_column="text", label_column="label"))
    out = open_store(tmp_path / "store", KEY)["text"]
    # Assert: the share of names none of whose words is left is at least the floor
    names = [(rec.text[g.start:g.end], text) for rec, text in zip(records, out) for g in rec.gold]
    masked = sum(not any(len(w) > 2 and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)
                         for w in re.split(r"[\s,]+", value)) for value, text in names)
    assert masked / len(names) >= HELDOUT_NAME_FLOOR, (masked, len(names))

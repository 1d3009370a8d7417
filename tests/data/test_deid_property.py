"""Property: no generated PII value survives prepare (checked on the decrypted store).

Person names come only from held-out lists (:func:`fedflm.data.deid_lexicon.heldout_names`):
names of locales that neither the name lexicon nor the learned model's training data hold,
minus any token the lexicon knows. Every record is tried as written, all lower and all upper.
"""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedflm.data.deid import HIGH_RISK
from fedflm.data.deid_lexicon import build_lexicon, heldout_names
from fedflm.data.deid_synth import LOCALES, case_variants, generate
from fedflm.data.keys import generate_key
from fedflm.data.prepare import PrepareConfig, prepare_file
from fedflm.data.store import open_store

KEY = generate_key()
HELDOUT = heldout_names(build_lexicon())


def _digit_runs(value: str) -> list[str]:
    """Identifying digit groups of a value (4+ digits: numbers, postcodes, card groups)."""
    return re.findall(r"\d{4,}", value)


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), kinds=st.lists(st.sampled_from(HIGH_RISK), min_size=1, max_size=3),
       locale=st.sampled_from(LOCALES), case=st.sampled_from(["as written", "lower", "upper"]))
def test_no_generated_pii_survives_prepare(tmp_path_factory, seed: int, kinds: list[str], locale: str,
                                           case: str) -> None:
    # Prepare: Faker-generated values (names from held-out lists) in a JSONL file, in one case variant
    tmp = tmp_path_factory.mktemp("prop")
    records = case_variants(generate(4, seed=seed, locales=(locale,), kinds=tuple(kinds), names=HELDOUT))[case]
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

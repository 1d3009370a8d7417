"""Property: no generated PII value survives prepare (checked on the decrypted store)."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedflm.data.deid import HIGH_RISK
from fedflm.data.deid_synth import LOCALES, generate
from fedflm.data.keys import generate_key
from fedflm.data.prepare import PrepareConfig, prepare_file
from fedflm.data.store import open_store

KEY = generate_key()


def _digit_runs(value: str) -> list[str]:
    """Identifying digit groups of a value (4+ digits: numbers, postcodes, card groups)."""
    return re.findall(r"\d{4,}", value)


@settings(max_examples=30, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), kinds=st.lists(st.sampled_from(HIGH_RISK), min_size=1, max_size=3),
       locale=st.sampled_from(LOCALES))
def test_no_generated_pii_survives_prepare(tmp_path_factory, seed: int, kinds: list[str], locale: str) -> None:
    # Prepare: Faker-generated records (values from Faker, not from us) in a JSONL file
    tmp = tmp_path_factory.mktemp("prop")
    records = generate(4, seed=seed, locales=(locale,), kinds=tuple(kinds))
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps({"text": r.text, "label": i % 2}) + "\n" for i, r in enumerate(records)))
    # Execute
    prepare_file(src, tmp / "store", KEY, PrepareConfig(text_column="text", label_column="label"))
    out = open_store(tmp / "store", KEY)["text"]
    # Assert: neither the value nor any of its 4+ digit groups is left in the decrypted text
    for rec, text in zip(records, out):
        for g in rec.gold:
            value = rec.text[g.start:g.end]
            assert value not in text, (g.entity, value, text)
            for run in _digit_runs(value):
                assert run not in text, (g.entity, value, text)

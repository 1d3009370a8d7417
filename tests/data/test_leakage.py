"""The leakage check's pure parts (fedflm/data/leakage.py): normalisation, keyed digests, overlap,
the request record and the server's report."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import DataConfig
from fedflm.data import leakage
from fedflm.errors import ConfigError, LeakageFound

KEY = bytes(range(32))


def test_normalisation_folds_case_whitespace_and_punctuation():
    # Execute / Assert
    assert leakage.normalise("  Hello,\tWORLD!! ") == "hello world"
    assert leakage.normalise("ﬁne — really…") == "fine really"  # NFKC ligature, dash and ellipsis


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=6), min_size=1, max_size=6),
       st.sampled_from([" ", "  ", "\t", " , ", "! ", " -- "]))
def test_variants_of_one_record_share_a_digest(words, sep):
    # Prepare: the same words, another case, separators and trailing punctuation
    plain = " ".join(words)
    variant = sep.join(w.upper() for w in words) + "?!"

    # Execute / Assert
    assert leakage.digest(KEY, variant) == leakage.digest(KEY, plain)


def test_digest_is_truncated_hmac_sha256_of_the_normalised_text():
    # Prepare: the direct computation
    expected = hmac.new(KEY, b"hello world", hashlib.sha256).digest()[:16]

    # Execute / Assert
    assert leakage.digest(KEY, "Hello, World.") == expected


def test_another_run_key_gives_unrelated_digests():
    # Prepare
    other = leakage.new_run_key()

    # Execute / Assert: a fresh key per run; the same text does not link across runs
    assert other != leakage.new_run_key() and len(other) == 32
    assert leakage.digest(KEY, "my card was declined") != leakage.digest(other, "my card was declined")
    with pytest.raises(ConfigError, match="32 bytes"):
        leakage.digest(b"short", "x")


def test_planted_duplicates_are_found_through_the_request_record():
    # Prepare: the server's evaluation texts; the owner holds two near-copies among its records
    eval_texts = ["Where is my card?", "I was charged twice.", "How do I top up?"]
    owner = ["what a lovely day", "where is my CARD", "i was charged   twice", "top up please"]
    record = leakage.to_record(KEY, eval_texts)

    # Execute
    key, digests = leakage.from_record(record)
    rows = leakage.overlap(key, owner, digests)

    # Assert: the record carries the key and 16-byte digests only, never a text
    assert rows == [1, 2] and key == KEY and len(digests) == 3
    assert len(record["leakage-digests"]) == 3 * 16
    assert all(t.lower().encode() not in record["leakage-digests"] for t in eval_texts)


@pytest.mark.parametrize("record, match", [
    ({}, "sends no leakage-key"),
    ({"leakage-key": KEY, "leakage-digests": b"x" * 17}, "malformed"),
    ({"leakage-key": b"k", "leakage-digests": b""}, "malformed"),
])
def test_a_malformed_record_is_refused(record, match):
    # Execute / Assert
    with pytest.raises(ConfigError, match=match):
        leakage.from_record(record)


def test_the_server_reports_counts_per_client_and_fails_on_request():
    # Prepare: one owner reported 2 shared records, one refused for leakage
    rows = [{"partition_id": 3, "status": "ok", "leakage_overlap": 2},
            {"node_id": 9, "status": "refused", "refusal": "leakage"}]

    # Execute
    report = leakage.summarise("warn", rows)

    # Assert
    assert report == {"mode": "warn", "overlap_per_client": {"3": 2}, "refused_nodes": ["9"]}
    with pytest.raises(LeakageFound, match="nodes 9"):
        leakage.summarise("fail", rows)


def test_on_leakage_is_validated():
    # Execute / Assert
    with pytest.raises(ConfigError, match="on_leakage must be one of off, warn, exclude, fail, got 'drop'"):
        DataConfig(on_leakage="drop")

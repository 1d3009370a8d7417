"""Leakage check between the owners' training data and the server's evaluation set (issue 22).

``--on-leakage off|warn|exclude|fail``. The protocol compares keyed hashes **at the owner**, so
no hash of an owner's record ever leaves its node:

1. The server draws a fresh 32-byte key for the run (:func:`new_run_key`; in memory only, never
   written to the run directory) and hashes every record of its held-out set (test and validation
   splits): ``HMAC-SHA256(key, normalise(text))`` truncated to 16 bytes (:func:`digest`).
2. It sends the key and the sorted digests with every training request (:func:`to_record`;
   clients keep no state between rounds, so each round carries them).
3. The owner hashes its own records the same way, locally (:func:`overlap`), and counts those
   whose digest is in the server's set. ``warn``: it trains on everything and reports the count;
   ``exclude``: it drops them from this run's training data *before* its DP plan is made (so
   DP-SGD's q uses the kept count); ``fail``: it refuses the round (typed refusal ``LEAKAGE``:
   nothing trained, nothing spent) and the server ends the run after that round.
4. Its reply carries one integer, the overlap count; the server records it per client.

What each side learns. The server learns one count per owner (an exact number about the owner's
data, like ``n``: not covered by epsilon; an owner sends it only when the run asks for the
check). An owner learns the server's key and digests: with them it can test whether a text it
guesses is in the server's evaluation set (a dictionary test on the server's held-out set, nothing
about other owners). Without the key a digest is a pseudo-random 16-byte string: it cannot be
reversed or tested against guessed texts. A new key per run makes digests of two runs unlinkable
and precomputed tables useless outside the run. Normalisation (Unicode NFKC, case folding,
punctuation removed, whitespace collapsed) makes near-copies collide on purpose; it also makes
texts that differ only in those respects count as one. Owners' stores hold de-identified text, so
a record whose PII was replaced does not match the raw evaluation text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from fedflm.errors import ConfigError, LeakageFound
from fedflm.options import LEAKAGE_MODES

__all__ = ["DIGEST_BYTES", "LEAKAGE_MODES", "RECORD_KEYS", "digest", "from_record", "new_run_key",
           "normalise", "overlap", "summarise", "to_record"]

DIGEST_BYTES = 16
KEY_BYTES = 32
RECORD_KEYS = ("leakage-key", "leakage-digests")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, case-folded, punctuation and symbols removed, whitespace collapsed and stripped."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return _SPACE.sub(" ", text).strip()


def new_run_key() -> bytes:
    """A fresh key for one run, from the OS CSPRNG."""
    return secrets.token_bytes(KEY_BYTES)


def digest(key: bytes, text: str) -> bytes:
    """The keyed hash of one record: HMAC-SHA256 of its normalised text, first 16 bytes."""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"leakage key must be {KEY_BYTES} bytes, got {len(key)}")
    return hmac.new(key, normalise(text).encode("utf-8"), hashlib.sha256).digest()[:DIGEST_BYTES]


def overlap(key: bytes, texts: Iterable[str], eval_digests: frozenset[bytes]) -> list[int]:
    """Indices of ``texts`` (the owner's own records) whose digest is in the server's set."""
    return [i for i, t in enumerate(texts) if digest(key, t) in eval_digests]


def to_record(key: bytes, eval_texts: Iterable[str]) -> dict[str, bytes]:
    """What the server adds to each training request: the run key and its evaluation digests
    (sorted, concatenated). Never the texts."""
    blob = b"".join(sorted({digest(key, t) for t in eval_texts}))
    return {"leakage-key": key, "leakage-digests": blob}


def from_record(config: Mapping[str, Any]) -> tuple[bytes, frozenset[bytes]]:
    """The owner's side of :func:`to_record`: (key, digests); a malformed record raises ConfigError."""
    key, blob = config.get("leakage-key"), config.get("leakage-digests")
    if not isinstance(key, bytes) or not isinstance(blob, bytes):
        raise ConfigError("the run asks for a leakage check but sends no leakage-key/leakage-digests bytes")
    if len(key) != KEY_BYTES or len(blob) % DIGEST_BYTES:
        raise ConfigError(f"leakage record malformed: key of {len(key)} bytes, digests of {len(blob)} bytes")
    return key, frozenset(blob[i:i + DIGEST_BYTES] for i in range(0, len(blob), DIGEST_BYTES))


def summarise(mode: str, client_rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The server's report: the overlap count per owner (by partition id) and the owners that refused.

    Raises :class:`LeakageFound` when the run asks to fail and an owner refused for leakage."""
    counts: dict[str, int] = {}
    refused: list[str] = []
    for row in client_rows:
        if "leakage_overlap" in row:
            counts[str(row.get("partition_id", row.get("node_id")))] = int(row["leakage_overlap"])
        elif row.get("refusal") == "leakage":
            refused.append(str(row.get("node_id")))
    if mode == "fail" and refused:
        raise LeakageFound(f"--on-leakage fail: {len(refused)} owner(s) hold records of the server's evaluation "
                           f"set (nodes {', '.join(refused)}); they trained nothing; the run ends")
    return {"mode": mode, "overlap_per_client": counts, "refused_nodes": refused}

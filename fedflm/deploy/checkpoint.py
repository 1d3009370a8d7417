"""The server's checkpoint: encrypted at rest, written atomically after every round.

A checkpoint holds the global adapter, the round number, the metrics rows and
per-client rows so far, the RNG states (Python's ``random`` -- Flower samples
nodes with it --, NumPy, PyTorch) and the run's ledger segment. Layout::

    b"FEDFLMCK" | version (1 byte) | nonce (12 bytes) | AES-256-GCM(payload, aad=magic+version)
    payload = len(meta JSON) (8 bytes, big endian) | meta JSON | NumPy .npz of the adapter tensors

The AES key is HKDF-SHA256(server key, info=b"fedflm-checkpoint"); a fresh
random nonce per write. Any failure to authenticate or parse raises one
:class:`DecryptionError`. Writing goes to a temporary file that is fsync'd
and then renamed over the previous checkpoint (the single commit point), so
a crash leaves either the old or the new checkpoint, never a torn one.
No pickle anywhere: loading a checkpoint runs no code.
"""

from __future__ import annotations

import base64
import io
import json
import random
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fedflm.errors import DecryptionError, StoreError
from fedflm.io import write_atomic
from fedflm.protect.keys import DataKey

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.fedflm"
MAGIC, VERSION = b"FEDFLMCK", 1
_AAD = MAGIC + bytes([VERSION])


@dataclass
class Checkpoint:
    """Everything needed to continue a run after its last complete round."""

    round: int
    arrays: "OrderedDict[str, np.ndarray]"
    rows: list[dict[str, Any]] = field(default_factory=list)
    client_rows_text: str = ""
    rng: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    segment: int = 0  # how many times the run was resumed (ledger run id suffix)
    skipped: int = 0  # consecutive rounds skipped below the minimum of clients


def capture_rng() -> dict[str, Any]:
    """Python, NumPy and PyTorch (CPU) RNG states as JSON-able values."""
    version, state, gauss = random.getstate()
    np_state = np.random.get_state()
    return {"python": [version, list(state), gauss],
            "numpy": [np_state[0], np_state[1].tolist(), *[float(x) if isinstance(x, float) else int(x)
                                                          for x in np_state[2:]]],
            "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}


def restore_rng(state: dict[str, Any]) -> None:
    if not state:
        return
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    raw = np.frombuffer(base64.b64decode(state["torch"]), dtype=np.uint8).copy()
    torch.set_rng_state(torch.from_numpy(raw))


def _aead(key: DataKey) -> AESGCM:
    return AESGCM(key.derive(b"fedflm-checkpoint"))


def encode(ckpt: Checkpoint, key: DataKey) -> bytes:
    meta = {"round": ckpt.round, "rows": ckpt.rows, "client_rows_text": ckpt.client_rows_text,
            "rng": ckpt.rng, "run_id": ckpt.run_id, "segment": ckpt.segment, "skipped": ckpt.skipped,
            "names": list(ckpt.arrays)}
    meta_bytes = json.dumps(meta, default=float).encode()  # key order kept: rows are rewritten as they were
    buf = io.BytesIO()
    np.savez(buf, *[np.asarray(a) for a in ckpt.arrays.values()])
    payload = struct.pack(">Q", len(meta_bytes)) + meta_bytes + buf.getvalue()
    nonce = secrets.token_bytes(12)
    return MAGIC + bytes([VERSION]) + nonce + _aead(key).encrypt(nonce, payload, _AAD)


def decode(blob: bytes, key: DataKey, what: str) -> Checkpoint:
    bad = DecryptionError(f"{what}: cannot decrypt the checkpoint (wrong key, truncated or tampered)")
    if len(blob) < len(_AAD) + 12 + 16 or blob[:len(_AAD)] != _AAD:
        raise bad
    nonce, body = blob[len(_AAD):len(_AAD) + 12], blob[len(_AAD) + 12:]
    try:
        payload = _aead(key).decrypt(nonce, body, _AAD)
        (n,) = struct.unpack(">Q", payload[:8])
        meta = json.loads(payload[8:8 + n])
        with np.load(io.BytesIO(payload[8 + n:]), allow_pickle=False) as npz:
            tensors = [npz[f"arr_{i}"] for i in range(len(meta["names"]))]
    except (InvalidTag, ValueError, KeyError, struct.error):
        raise bad from None
    return Checkpoint(int(meta["round"]), OrderedDict(zip(meta["names"], tensors)), meta["rows"],
                      meta["client_rows_text"], meta["rng"], meta["run_id"], int(meta["segment"]),
                      int(meta["skipped"]))


def save_checkpoint(folder: Path, ckpt: Checkpoint, key: DataKey) -> Path:
    """Atomically replace ``folder/checkpoint.fedflm``."""
    return write_atomic(Path(folder) / CHECKPOINT_NAME, encode(ckpt, key), private=True)


def load_checkpoint(folder: Path, key: DataKey, run_id: str | None = None) -> Checkpoint:
    """Decrypt ``folder/checkpoint.fedflm``; with ``run_id``, refuse a checkpoint of another run
    (the run id is inside the authenticated payload, so it cannot be swapped unnoticed)."""
    path = Path(folder) / CHECKPOINT_NAME
    if not path.is_file():
        raise StoreError(f"{path}: no checkpoint (was the run started with a checkpoint key?)")
    ckpt = decode(path.read_bytes(), key, str(path))
    if run_id is not None and ckpt.run_id != run_id:
        raise StoreError(f"{path}: checkpoint of run {ckpt.run_id!r}, not of run {run_id!r}; refusing to resume "
                         "from another run's state")
    return ckpt

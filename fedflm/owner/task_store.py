"""The non-classification tasks' records in the owner's encrypted store (issue 25: deployment).

It lives beside the owner's policy, not in fedflm/protect/ (which must not import the tasks' readers):
it only parses the task formats and hands the text fields to the protection pipeline.

``fedflm data prepare --task causal-lm|recommend INPUT --out STORE`` reads the task's own file format
(fedflm/causal/records.py: instruction/response JSONL or plain text; fedflm/recommend/log.py: the
interaction log ``user_id,item_id,item_text,timestamp,label``), de-identifies the free-text fields with
the same :class:`~fedflm.protect.prepare.Redactor` as classification (its report goes into the manifest)
and writes them through the same :class:`~fedflm.protect.store.StoreWriter` (AES-256-GCM shards, atomic,
``inspect`` / ``rotate-key`` work unchanged). Each stored row's ``text`` is one JSON object:

* causal-lm: ``{"prompt": ..., "response": ...}`` (``prompt`` "" for plain text), label ``record``;
* recommend: ``{"user": ..., "item": ..., "item_text": ..., "order": ...}`` with the interaction's label
  (``0`` / ``1``). The user id is replaced by a keyed pseudonym (HMAC-SHA256 under a key derived from the
  store's key: stable across re-preparation with the same key, not reversible without it), and the
  timestamp by the interaction's position in its user's history (the only thing training uses: the
  order), so neither a user id nor a date is stored.

The manifest body names the task (``"task"``); a store without one is a classification store. A
deployed node serves only the task its store holds (clients/task_round.py, clients/app.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedflm.errors import DataError, StoreError
from fedflm.protect.keys import DataKey
from fedflm.protect.store import StoreWriter, open_store, read_manifest

if TYPE_CHECKING:  # the de-identifier (presidio, spaCy: ~3 s of imports) is loaded by prepare_task_file only,
    from fedflm.protect.prepare import PrepareConfig, Redactor  # never by a node that reads its store

__all__ = ["CLASSIFY", "TASKS", "prepare_task_file", "read_lm_records", "read_interactions", "store_task"]

CLASSIFY = "classify"
TASKS = ("causal-lm", "recommend")
_PSEUDONYM = b"fedflm-recommend-user-pseudonym"


def store_task(store: str | os.PathLike, key: DataKey) -> str:
    """The task a store holds (``classify`` for a store written without one); reads the manifest only."""
    return str(read_manifest(store, key).body.get("task", CLASSIFY))


def _pseudonym(key: DataKey, user_id: str) -> str:
    return hmac.new(key.derive(_PSEUDONYM), user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]


def _lm_rows(path: Path, redact: Redactor) -> tuple[list[str], list[int], list[str]]:
    from fedflm.causal.records import read_records

    records = read_records(path)
    prompts = redact([r.prompt for r in records])
    responses = redact([r.response for r in records])
    # the report counts records, not fields: a record changed when its prompt or its response did
    redact.records = len(records)
    redact.changed = sum(p != r.prompt or q != r.response for p, q, r in zip(prompts, responses, records))
    texts = [json.dumps({"prompt": p, "response": r}, ensure_ascii=False) for p, r in zip(prompts, responses)]
    return texts, [0] * len(texts), ["record"]


def _log_rows(path: Path, key: DataKey, redact: Redactor) -> tuple[list[str], list[int], list[str]]:
    from fedflm.recommend.log import read_log

    log = read_log(path)
    order = sorted(range(len(log)), key=lambda i: (log[i].user_id, log[i].timestamp, i))
    position: dict[int, int] = {}
    for n, i in enumerate(order):
        position[i] = 0 if n == 0 or log[order[n - 1]].user_id != log[i].user_id else position[order[n - 1]] + 1
    item_texts = redact([r.item_text for r in log])
    texts = [json.dumps({"user": _pseudonym(key, r.user_id), "item": r.item_id, "item_text": t,
                         "order": position[i]}, ensure_ascii=False)
             for i, (r, t) in enumerate(zip(log, item_texts))]
    return texts, [r.label for r in log], ["0", "1"]


def prepare_task_file(task: str, input_path: str | os.PathLike, out: str | os.PathLike, key: DataKey,
                      cfg: PrepareConfig) -> dict[str, Any]:
    """Read ``input_path`` in ``task``'s format, de-identify its text fields, encrypt it into a new store
    ``out`` (nothing is written on a bad row: the reader raises first); returns the manifest body."""
    if task not in TASKS:
        raise DataError(f"--task must be one of {', '.join(TASKS)} here, got {task!r}")
    from fedflm.protect.prepare import DEID_OFF_WARNING, Redactor

    path, redact = Path(input_path), Redactor(cfg)
    texts, labels, names = _lm_rows(path, redact) if task == "causal-lm" else _log_rows(path, key, redact)
    with StoreWriter(out, key, names, cfg.rows_per_shard) as writer:
        writer.add(texts, labels)
        extra = {"task": task, "deid": redact.report(), "warnings": [] if cfg.deid else [DEID_OFF_WARNING],
                 "source": {"file_name": path.name, "format": path.suffix.lstrip(".")}}
        writer.commit(extra)
    counts = [labels.count(i) for i in range(len(names))]
    return {**extra, "rows": len(texts), "shards": len(writer.shards), "label_names": names, "label_counts": counts}


def _rows(store: str | os.PathLike, key: DataKey, task: str) -> tuple[list[dict[str, Any]], list[int]]:
    found = store_task(store, key)
    if found != task:
        raise StoreError(f"{store}: holds {found} data, not {task}")
    ds = open_store(store, key)
    return [json.loads(t) for t in ds["text"]], list(ds["label"])


def read_lm_records(store: str | os.PathLike, key: DataKey) -> list[Any]:
    """A causal-lm store's records (decrypted in memory only)."""
    from fedflm.causal.records import LMRecord

    rows, _ = _rows(store, key, "causal-lm")
    return [LMRecord(r["prompt"], r["response"]) for r in rows]


def read_interactions(store: str | os.PathLike, key: DataKey) -> list[Any]:
    """A recommend store's interactions (user = pseudonym, timestamp = position in the user's history)."""
    from fedflm.recommend.log import Interaction

    rows, labels = _rows(store, key, "recommend")
    return [Interaction(r["user"], r["item"], r["item_text"], float(r["order"]), int(y))
            for r, y in zip(rows, labels)]

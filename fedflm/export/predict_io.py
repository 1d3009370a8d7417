"""Batch prediction files: texts in (CSV/TSV or JSONL), labels and probabilities out.

Errors name the file, the column and the row. The output keeps the input's text next to the
predicted label, its probability and one probability column per label.
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from fedflm.jsonl import iter_json_objects
from fedflm.errors import DataError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


def file_kind(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use .csv, .tsv or .jsonl")
    return kind


def read_texts(path: Path, column: str = "text") -> list[str]:
    """The ``column`` of every row of ``path`` (CSV/TSV with a header, or JSONL objects)."""
    if not path.is_file():
        raise DataError(f"{path}: input file not found")
    kind = file_kind(path)
    with path.open(encoding="utf-8", newline="") as fh:
        if kind == "jsonl":
            return [_text(path, n, column, obj.get(column, None), column in obj)
                    for n, obj in iter_json_objects(fh, path)]
        reader = csv.DictReader(fh, delimiter="\t" if kind == "tsv" else ",")
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise DataError(f"{path}: no column {column!r} (columns: {', '.join(reader.fieldnames or [])}); "
                            "choose one with --text-column")
        return [_text(path, n, column, row[column], True) for n, row in enumerate(reader, start=2)]


def _text(path: Path, row: int, column: str, value: object, present: bool) -> str:
    if not present or value is None:
        raise DataError(f"{path}: row {row}: column {column!r} is missing")
    if not isinstance(value, str):
        raise DataError(f"{path}: row {row}: column {column!r} must be text, got {type(value).__name__}")
    return value


def prediction_rows(texts: list[str], probs: np.ndarray, labels: tuple[str, ...]) -> list[dict]:
    """One dict per text: text, label, probability, and ``p_<label>`` for every label."""
    best = probs.argmax(1)
    return [{"text": t, "label": labels[int(k)], "probability": round(float(p[k]), 6),
             **{f"p_{name}": round(float(v), 6) for name, v in zip(labels, p)}}
            for t, p, k in zip(texts, probs, best)]


def write_predictions(path: Path, rows: list[dict]) -> None:
    """CSV/TSV (one ``p_<label>`` column per label) or JSONL, by the file's extension."""
    kind = file_kind(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        if kind == "jsonl":
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            return
        fields = list(rows[0]) if rows else ["text", "label", "probability"]
        writer = csv.DictWriter(fh, fieldnames=fields, delimiter="\t" if kind == "tsv" else ",")
        writer.writeheader()
        writer.writerows(rows)


@lru_cache(maxsize=2)
def _deidentifier(engine: str):
    from fedflm.protect.deid import DeidConfig, Deidentifier

    return Deidentifier(DeidConfig(engine=engine))


def deidentify(texts: list[str], engine: str = "learned") -> list[str]:
    """The same de-identification the owners' prepare step applied to the training text."""
    redacted, _ = _deidentifier(engine).redact_batch(list(texts))
    return redacted

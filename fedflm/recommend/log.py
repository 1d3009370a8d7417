"""The interaction-log format of ``--task recommend``: a reader that names the bad row, and a writer.

One interaction per row, UTF-8, ``.csv`` (a header row) or ``.jsonl`` (one object per line), with
the columns

* ``user_id``   -- non-empty string (numbers are read as text);
* ``item_id``   -- non-empty string;
* ``item_text`` -- non-empty string: the item's title or description (the text the LM reads);
* ``timestamp`` -- a number (e.g. Unix seconds) or an ISO 8601 date/time; orders a user's history;
* ``label``     -- 1 (the user interacted: clicked, bought, rated highly) or 0 (shown, not taken).

Other columns are ignored. An item's text is the first one the log gives for its id. Errors name
the row as the line of the file (a CSV header is row 1).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from fedflm.errors import DataError
from fedflm.jsonl import iter_json_objects, read_text_file

__all__ = ["COLUMNS", "Interaction", "read_log", "write_log"]

COLUMNS = ("user_id", "item_id", "item_text", "timestamp", "label")


@dataclass(frozen=True)
class Interaction:
    """One row of the log."""

    user_id: str
    item_id: str
    item_text: str
    timestamp: float
    label: int


def _text(value: Any, column: str, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise DataError(f"{where}, column {column!r}: must be a non-empty string, got {value!r:.60}")
    return str(value).strip()


def _timestamp(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip():
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise DataError(f"{where}, column 'timestamp': must be a number or an ISO 8601 date/time, got {value!r:.60}")


def _label(value: Any, where: str) -> int:
    if not isinstance(value, bool) and str(value).strip() in ("0", "1", "0.0", "1.0"):
        return int(float(str(value).strip()))
    raise DataError(f"{where}, column 'label': must be 0 or 1, got {value!r:.60}")


def _row(obj: dict[str, Any], where: str) -> Interaction:
    missing = [c for c in COLUMNS if c not in obj or obj[c] is None]
    if missing:
        raise DataError(f"{where}: column {missing[0]!r} is missing")
    return Interaction(_text(obj["user_id"], "user_id", where), _text(obj["item_id"], "item_id", where),
                       _text(obj["item_text"], "item_text", where), _timestamp(obj["timestamp"], where),
                       _label(obj["label"], where))


def _csv_rows(path: Path, text: str) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    absent = [c for c in COLUMNS if c not in header]
    if absent:
        raise DataError(f"{path}: row 1 (header), column {absent[0]!r} is missing (columns: {', '.join(COLUMNS)})")
    for row in reader:
        yield reader.line_num, row


def read_log(path: str | Path) -> list[Interaction]:
    """All interactions of a ``.csv`` or ``.jsonl`` log; a bad row raises one DataError naming the file,
    row, column and value."""
    path, text = read_text_file(path)
    if path.suffix == ".csv":
        rows: Iterable[tuple[int, dict[str, Any]]] = _csv_rows(path, text)
    elif path.suffix == ".jsonl":
        rows = iter_json_objects(text.splitlines(), path)
    else:
        raise DataError(f"{path}: unknown interaction-log format {path.suffix!r} (use .csv or .jsonl)")
    log = [_row(obj, f"{path}: row {number}") for number, obj in rows]
    if not log:
        raise DataError(f"{path}: no interactions")
    return log


def write_log(log: Iterable[Interaction], path: str | Path) -> Path:
    """Write ``log`` in the format above (``.csv`` or ``.jsonl`` by the suffix)."""
    path = Path(path)
    rows = [{"user_id": r.user_id, "item_id": r.item_id, "item_text": r.item_text,
             "timestamp": r.timestamp, "label": r.label} for r in log]
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise DataError(f"{path}: unknown interaction-log format {path.suffix!r} (use .csv or .jsonl)")
    return path

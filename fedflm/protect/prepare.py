"""``prepare``: labelled text file -> de-identified, encrypted store.

The input (CSV, TSV, JSONL or Parquet, optionally .gz for the text formats) is
read in chunks, so files larger than memory work: a first pass reads only the
label column to fix the label mapping, a second pass de-identifies and
encrypts chunk by chunk. Input mistakes raise :class:`DataError` naming file,
column and row; nothing is written then (the store appears only on success).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from fedflm.errors import ConfigError, DataError
from fedflm.jsonl import iter_json_objects
from fedflm.protect.deid import DeidConfig, Deidentifier
from fedflm.protect.keys import DataKey
from fedflm.protect.store import DEFAULT_ROWS_PER_SHARD, StoreWriter

DEID_OFF_WARNING = ("DE-IDENTIFICATION DISABLED: texts were stored as given, including any "
                    "names, e-mails, phone numbers and other personal data they contain")
_TEXT_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl",
                 ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class PrepareConfig:
    """How to turn one input file into a store."""

    text_column: str = "text"
    label_column: str = "label"
    deid: bool = True
    deid_config: DeidConfig = field(default_factory=DeidConfig)
    chunk_rows: int = 1000
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD
    label_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("text_column", "label_column"):
            if not getattr(self, name):
                raise ConfigError(f"{name} must be a non-empty column name, got {getattr(self, name)!r}")
        if self.chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be >= 1, got {self.chunk_rows}")
        if self.rows_per_shard < 1:
            raise ConfigError(f"rows_per_shard must be >= 1, got {self.rows_per_shard}")


def input_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    if suffixes and suffixes[-1] in _TEXT_FORMATS:
        return _TEXT_FORMATS[suffixes[-1]]
    raise DataError(f"{path}: unsupported file type (use .csv, .tsv, .jsonl or .parquet)")


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _rows_delimited(path: Path, fmt: str, columns: tuple[str, ...]) -> Iterator[tuple[int, list]]:
    csv.field_size_limit(sys.maxsize)
    kwargs: dict[str, Any] = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
    with _open_text(path) as fh:
        reader = csv.reader(fh, **kwargs)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: file is empty")
        idx = _column_indices(path, [h.strip() for h in header], columns)
        for row, values in enumerate(reader, start=1):
            if not values:
                continue
            if len(values) != len(header):
                raise DataError(f"{path}: row {row}: {len(values)} fields, header has {len(header)}")
            yield row, [values[i] for i in idx]


def _rows_jsonl(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list]]:
    with _open_text(path) as fh:
        for row, obj in iter_json_objects(fh, path):
            missing = [c for c in columns if c not in obj]
            if missing:
                raise DataError(f"{path}: line {row}: no column {missing[0]!r} "
                                f"(keys: {', '.join(map(str, obj))})")
            yield row, [obj[c] for c in columns]


def _rows_parquet(path: Path, columns: tuple[str, ...], chunk: int) -> Iterator[tuple[int, list]]:
    import pyarrow.parquet as pq
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataError(f"{path}: cannot be read as Parquet: {str(exc).splitlines()[0][:200]}") from None
    _column_indices(path, pf.schema_arrow.names, columns)
    row = 0
    for batch in pf.iter_batches(batch_size=chunk, columns=list(columns)):
        cols = [batch.column(c).to_pylist() for c in columns]
        for values in zip(*cols):
            row += 1
            yield row, list(values)


def _column_indices(path: Path, header: list[str], columns: tuple[str, ...]) -> list[int]:
    for col in columns:
        if col not in header:
            raise DataError(f"{path}: no column {col!r} (columns: {', '.join(header)})")
    return [header.index(c) for c in columns]


def iter_rows(path: Path, columns: tuple[str, ...], chunk: int = 1000) -> Iterator[tuple[int, list]]:
    """(row number, [values of ``columns``]) for each record, streaming."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a data file")
    fmt = input_format(path)
    try:
        if fmt == "parquet":
            yield from _rows_parquet(path, columns, chunk)
        elif fmt == "jsonl":
            yield from _rows_jsonl(path, columns)
        else:
            yield from _rows_delimited(path, fmt, columns)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.object[exc.start]:#04x})") from None
    except (OSError, EOFError, csv.Error) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataError(f"{path}: cannot be read: {exc}") from None


def _natural_key(s: str) -> tuple:
    return (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s)


def _label_str(path: Path, row: int, column: str, value: Any) -> str:
    if value is None or str(value).strip() == "":
        raise DataError(f"{path}: row {row}: column {column!r} is empty")
    return str(value)


def scan_labels(path: Path, label_column: str) -> tuple[str, ...]:
    """First pass: the sorted set of labels (numbers in numeric order)."""
    labels = {_label_str(path, row, label_column, vals[0]) for row, vals in iter_rows(path, (label_column,))}
    if not labels:
        raise DataError(f"{path}: contains no rows")
    return tuple(sorted(labels, key=_natural_key))


def _chunks(path: Path, cfg: PrepareConfig, index: dict[str, int]) -> Iterator[tuple[list[str], list[int]]]:
    texts: list[str] = []
    labels: list[int] = []
    for row, (text, label) in iter_rows(path, (cfg.text_column, cfg.label_column), cfg.chunk_rows):
        if text is None or not str(text).strip():
            raise DataError(f"{path}: row {row}: column {cfg.text_column!r} is empty")
        key = _label_str(path, row, cfg.label_column, label)
        if key not in index:
            raise DataError(f"{path}: row {row}: label {key!r} in column {cfg.label_column!r} "
                            f"is not one of the {len(index)} known labels")
        texts.append(str(text))
        labels.append(index[key])
        if len(texts) >= cfg.chunk_rows:
            yield texts, labels
            texts, labels = [], []
    if texts:
        yield texts, labels


class Redactor:
    """De-identifies chunks and keeps the report (counts only, never values)."""

    def __init__(self, cfg: PrepareConfig) -> None:
        self.cfg = cfg
        self.deid = Deidentifier(cfg.deid_config) if cfg.deid else None
        self.counts: Counter = Counter()
        self.records = self.changed = 0
        self.seconds = 0.0

    def __call__(self, texts: list[str]) -> list[str]:
        self.records += len(texts)
        if self.deid is None:
            return texts
        t0 = time.perf_counter()
        out, counts = self.deid.redact_batch(texts)
        self.seconds += time.perf_counter() - t0
        self.counts.update(counts)
        self.changed += sum(a != b for a, b in zip(texts, out))
        return out

    def report(self) -> dict[str, Any]:
        if self.deid is None:
            return {"enabled": False, "warning": DEID_OFF_WARNING, "records": self.records}
        from importlib import metadata
        return {"enabled": True, "engine": self.cfg.deid_config.engine,
                "entities_checked": list(self.cfg.deid_config.entities),
                "counts": dict(sorted(self.counts.items())), "records": self.records,
                "records_changed": self.changed,
                "presidio_analyzer": metadata.version("presidio-analyzer"),
                "records_per_s": round(self.records / self.seconds, 1) if self.seconds else None}


def prepare_file(input_path: str | os.PathLike, out: str | os.PathLike, key: DataKey,
                 cfg: PrepareConfig) -> dict[str, Any]:
    """De-identify and encrypt ``input_path`` into a new store ``out``; returns the manifest body."""
    path = Path(input_path)
    names = cfg.label_names or scan_labels(path, cfg.label_column)
    index = {n: i for i, n in enumerate(names)}
    redactor = Redactor(cfg)
    with StoreWriter(out, key, list(names), cfg.rows_per_shard) as writer:
        for texts, labels in _chunks(path, cfg, index):
            writer.add(redactor(texts), labels)
        if redactor.records == 0:
            raise DataError(f"{path}: contains no rows")
        extra = {"deid": redactor.report(), "warnings": [] if cfg.deid else [DEID_OFF_WARNING],
                 "source": {"file_name": path.name, "format": input_format(path),
                            "text_column": cfg.text_column, "label_column": cfg.label_column}}
        writer.commit(extra)
    return {**extra, "rows": redactor.records, "shards": len(writer.shards),
            "label_names": list(names), "label_counts": writer.label_counts}


def prepare_dataset_in_memory_to_store(dataset: Any, out_dir: str | os.PathLike, key: DataKey,
                                       deid: bool = True, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
                                       deid_config: DeidConfig | None = None) -> Path:
    """Store a ``datasets.Dataset`` (``text``, ``label`` ClassLabel ids) as a client would.

    Used by simulations so that every simulated client goes through the real
    de-identification and encryption path.
    """
    names = list(dataset.features["label"].names)
    cfg = PrepareConfig(deid=deid, deid_config=deid_config or DeidConfig(), rows_per_shard=rows_per_shard)
    redactor = Redactor(cfg)
    with StoreWriter(out_dir, key, names, rows_per_shard) as writer:
        for start in range(0, len(dataset), cfg.chunk_rows):
            batch = dataset[start:start + cfg.chunk_rows]
            writer.add(redactor([str(t) for t in batch["text"]]), [int(x) for x in batch["label"]])
        extra = {"deid": redactor.report(), "warnings": [] if deid else [DEID_OFF_WARNING],
                 "source": {"file_name": None, "format": "in-memory dataset"}}
        return writer.commit(extra)

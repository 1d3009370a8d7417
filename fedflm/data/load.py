"""Load labelled text from files or the built-in sets into ``datasets``.

Every loader returns a :class:`datasets.Dataset` with exactly two columns,
``text`` (str) and ``label`` (``ClassLabel`` ids), plus the label names. User
mistakes raise :class:`~fedflm.errors.DataError` naming file, column and row.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets import ClassLabel, Dataset, Features, Value

from fedflm.config import DataConfig
from fedflm.data.holdout import parse_whole_text, whole_text_holdout
from fedflm.errors import ConfigError, DataError

BUILTINS: dict[str, dict[str, str]] = {
    "sst2": {"train": "sst2_train.tsv.gz", "eval": "sst2_dev.tsv.gz",
             "text": "sentence", "label": "label", "values": "0,1",
             "names": "negative,positive"},
    "banking77": {"train": "banking77_train.csv.gz", "eval": "banking77_test.csv.gz",
                  "text": "text", "label": "category", "values": "", "names": ""},
}
_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json",
            ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class FederatedData:
    """The clients' pool and the server's held-out global evaluation set."""

    train: Dataset
    eval: Dataset
    label_names: tuple[str, ...]


def file_format(path: Path) -> str:
    """Return the ``datasets`` builder for ``path`` from its extension."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz")]
    if suffixes and suffixes[-1] in _FORMATS:
        return _FORMATS[suffixes[-1]]
    raise DataError(f"{path}: unsupported file type (use .csv, .tsv, .jsonl or .parquet)")


def _count_lines(path: Path) -> int | None:
    """Non-blank lines of a text file (None if compressed or binary); raise on bad UTF-8.

    The error names the line of the first byte sequence that is not UTF-8.
    """
    if path.suffix.lower() in (".parquet", ".pq", ".gz", ".bz2", ".xz"):
        return None
    count = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                count += bool(raw.decode("utf-8").strip())
            except UnicodeDecodeError as exc:
                raise DataError(f"{path}: line {lineno} is not valid UTF-8 "
                                f"(byte {raw[exc.start]:#04x} at column {exc.start + 1})") from None
    return count


def _parquet_rows(path: Path) -> int | None:
    try:
        import pyarrow.parquet as pq
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # not a readable parquet file: the loader below says so
        return None


def _read_raw(path: Path) -> Dataset:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a data file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    fmt = file_format(path)
    rows = _parquet_rows(path) if fmt == "parquet" else _count_lines(path)
    header = 1 if fmt == "csv" else 0
    if rows is not None and rows <= header:
        raise DataError(f"{path}: contains no data rows" + (" (header only)" if rows else ""))
    kwargs: dict = {}
    if fmt == "csv" and ".tsv" in [s.lower() for s in path.suffixes]:
        kwargs = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    datasets.disable_progress_bars()
    try:
        ds = datasets.load_dataset(fmt, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # datasets wraps parser errors in many types
        raise DataError(f"{path}: cannot be parsed as {fmt}: {str(exc).splitlines()[0][:200]}") from None
    if len(ds) == 0:
        raise DataError(f"{path}: contains no rows")
    return ds


def _label_names(values: list, fixed: str) -> tuple[str, ...]:
    if fixed:
        return tuple(fixed.split(","))
    return tuple(sorted({str(v) for v in values}, key=_natural_key))


def _natural_key(s: str) -> tuple:
    return (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s)


def load_table(path: str | os.PathLike, text_column: str, label_column: str,
               label_names: tuple[str, ...] | None = None,
               label_values: tuple[str, ...] | None = None,
               keep_columns: tuple[str, ...] = ()) -> tuple[Dataset, tuple[str, ...]]:
    """Load one file into (``text``, ``label``) with ids; returns (dataset, label names).

    ``label_names`` fixes the mapping (e.g. the training set's) so that an
    evaluation file is encoded consistently; unknown labels are then errors.
    ``label_values`` are the raw values in id order when they differ from the
    display names (SST-2 stores 0/1 for negative/positive). ``keep_columns``
    are carried along as strings (e.g. a site id for natural partitioning).
    """
    path = Path(path)
    raw = _read_raw(path)
    wanted = [(text_column, "text"), (label_column, "label")] + [(c, "partition") for c in keep_columns]
    for col, what in wanted:
        if col not in raw.column_names:
            raise DataError(f"{path}: no {what} column {col!r} "
                            f"(columns: {', '.join(raw.column_names)})")
    texts, labels = raw[text_column], raw[label_column]
    for row, (t, lab) in enumerate(zip(texts, labels), start=1):
        if t is None or (isinstance(t, str) and not t.strip()):
            raise DataError(f"{path}: row {row}: column {text_column!r} is empty")
        if lab is None or str(lab).strip() == "":
            raise DataError(f"{path}: row {row}: column {label_column!r} is empty")
    names = label_names or _label_names(labels, "")
    index = {n: i for i, n in enumerate(label_values or names)}
    ids = []
    for row, lab in enumerate(labels, start=1):
        key = str(lab)
        if key not in index:
            raise DataError(f"{path}: row {row}: label {key!r} in column {label_column!r} "
                            f"is not one of the {len(names)} known labels")
        ids.append(index[key])
    feats = Features({"text": Value("string"), "label": ClassLabel(names=list(names)),
                      **{c: Value("string") for c in keep_columns}})
    columns = {"text": [str(t) for t in texts], "label": ids,
               **{c: [str(v) for v in raw[c]] for c in keep_columns}}
    return Dataset.from_dict(columns, features=feats), names


def _builtin_path(filename: str) -> Path:
    from fedflm.data.builtin_files import builtin_file  # also found from a Flower App bundle (no .gz)

    return builtin_file(filename)


def load_builtin(name: str) -> FederatedData:
    """Load a shipped data set: its train split for clients, its test/dev split for the server."""
    spec = BUILTINS[name]
    names = _label_names([], spec["names"]) if spec["names"] else None
    values = _label_names([], spec["values"]) if spec["values"] else None
    train, names = load_table(_builtin_path(spec["train"]), spec["text"], spec["label"],
                              names, values)
    evals, _ = load_table(_builtin_path(spec["eval"]), spec["text"], spec["label"],
                          names, values or names)
    return FederatedData(train=train, eval=evals, label_names=names)


def load_federated_data(cfg: DataConfig, seed: int) -> FederatedData:
    """Resolve ``cfg.dataset`` (built-in name or path) into client pool + global eval set."""
    if cfg.dataset in BUILTINS:
        if cfg.eval_whole_text:
            raise ConfigError(f"eval_whole_text applies when the evaluation set is carved from the training file; "
                              f"{cfg.dataset} is evaluated on its own dev/test split (a sweep carves it)")
        data = load_builtin(cfg.dataset)
    else:
        path = Path(cfg.dataset)
        if not path.suffix:
            raise DataError(f"unknown dataset {cfg.dataset!r}: use one of "
                            f"{', '.join(BUILTINS)} or a path to a .csv/.tsv/.jsonl/.parquet file")
        text_col, label_col = cfg.text_column or "text", cfg.label_column or "label"
        keep = (cfg.partition.split(":", 1)[1],) if cfg.partition.startswith("column:") else ()
        pool, names = load_table(path, text_col, label_col, keep_columns=keep)
        if cfg.eval_file:
            evals, _ = load_table(Path(cfg.eval_file), text_col, label_col, names)
            data = FederatedData(train=pool, eval=evals, label_names=names)
        elif cfg.eval_whole_text:
            data = _whole_text(pool, names, cfg.eval_whole_text, seed, path)
        else:
            data = _holdout(pool, names, cfg.eval_fraction, seed, path)
    if len(data.label_names) < 2:
        raise DataError(f"{cfg.dataset}: label column has only one class "
                        f"({data.label_names[0]!r}); need at least 2")
    if cfg.eval_samples and cfg.eval_samples < len(data.eval):
        data = FederatedData(data.train, _stratified_head(data.eval, cfg.eval_samples, seed),
                             data.label_names)
    return data


def _holdout(pool: Dataset, names: tuple[str, ...], fraction: float, seed: int,
             path: Path) -> FederatedData:
    if len(names) < 2:
        raise DataError(f"{path}: label column has only one class ({names[0]!r}); need at least 2")
    try:
        split = pool.train_test_split(test_size=fraction, seed=seed, stratify_by_column="label")
    except ValueError as exc:
        raise DataError(f"{path}: cannot hold out a stratified {fraction:.0%} evaluation set: "
                        f"{exc}") from None
    return FederatedData(train=split["train"], eval=split["test"], label_names=names)


def _whole_text(pool: Dataset, names: tuple[str, ...], spec: str, seed: int, path: Path) -> FederatedData:
    n, min_words = parse_whole_text(spec)
    try:
        train, held = whole_text_holdout(pool["text"], pool["label"], n, min_words, seed)
    except ConfigError as exc:
        raise DataError(f"{path}: {exc}") from None
    return FederatedData(train=pool.select(train), eval=pool.select(held), label_names=names)


def _stratified_head(ds: Dataset, n: int, seed: int) -> Dataset:
    try:
        return ds.train_test_split(test_size=n, seed=seed, stratify_by_column="label")["test"]
    except ValueError:  # fewer rows than classes: fall back to a seeded random subset
        return ds.shuffle(seed=seed).select(range(n))

"""Loading labelled text: every file format, label mapping, built-ins, hold-out, bad input."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from fedflm.config import DataConfig
from fedflm.data.load import FederatedData, load_builtin, load_federated_data, load_table
from fedflm.errors import DataError

ROWS = [("a fine film", "pos"), ("dull and long", "neg"), ("what a joy", "pos"),
        ("utterly flat", "neg"), ("great cast", "pos")]


def write_table(path: Path, rows: list[tuple], columns: tuple[str, ...] = ("text", "label")) -> Path:
    """Write ``rows`` in the format given by ``path``'s extension (via pandas)."""
    frame = pd.DataFrame(rows, columns=list(columns))
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        raise AssertionError(suffix)
    return path


# ------------------------------------------------------------------ formats and label mapping
@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_each_format_loads_text_and_string_labels(tmp_path: Path, suffix: str) -> None:
    # Prepare
    path = write_table(tmp_path / f"reviews{suffix}", ROWS)

    # Execute
    ds, names = load_table(path, "text", "label")

    # Assert: sorted label names, ids follow them, the mapping travels with the data
    assert names == ("neg", "pos")
    assert ds.column_names == ["text", "label"]
    assert ds["text"] == [t for t, _ in ROWS]
    assert [names[i] for i in ds["label"]] == [lab for _, lab in ROWS]
    assert ds.features["label"].names == ["neg", "pos"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_int_labels_map_to_ids_in_numeric_order(tmp_path: Path, suffix: str) -> None:
    # Prepare: 10 must sort after 2, not before
    rows = [("one", 10), ("two", 2), ("three", 3), ("four", 2)]
    path = write_table(tmp_path / f"ints{suffix}", rows)

    # Execute
    ds, names = load_table(path, "text", "label")

    # Assert
    assert names == ("2", "3", "10")
    assert ds["label"] == [2, 0, 1, 0]


def test_tsv_keeps_quotes_and_commas_literally(tmp_path: Path) -> None:
    # Prepare: SST-2 style text with stray quotes, which a CSV quoting rule would mangle
    path = tmp_path / "quotes.tsv"
    path.write_text('sentence\tlabel\nit \'s a "must , see"\t1\n" half quoted\t0\n', encoding="utf-8")

    # Execute
    ds, names = load_table(path, "sentence", "label")

    # Assert
    assert ds["text"] == ['it \'s a "must , see"', '" half quoted']
    assert names == ("0", "1") and ds["label"] == [1, 0]


def test_fixed_mapping_with_raw_values_and_display_names(tmp_path: Path) -> None:
    # Prepare: raw 0/1 stored, shown as negative/positive (how SST-2 is declared)
    path = write_table(tmp_path / "bin.csv", [("bad", 0), ("good", 1), ("good too", 1)])

    # Execute
    ds, names = load_table(path, "text", "label", label_names=("negative", "positive"),
                           label_values=("0", "1"))

    # Assert
    assert names == ("negative", "positive")
    assert ds["label"] == [0, 1, 1]
    assert ds.features["label"].int2str(1) == "positive"


def test_keep_columns_are_carried_as_strings(tmp_path: Path) -> None:
    # Prepare
    rows = [("x", "a", 7), ("y", "b", 8), ("z", "a", 7)]
    path = write_table(tmp_path / "sites.csv", rows, ("text", "label", "site"))

    # Execute
    ds, _ = load_table(path, "text", "label", keep_columns=("site",))

    # Assert
    assert ds.column_names == ["text", "label", "site"]
    assert ds["site"] == ["7", "8", "7"]


# ------------------------------------------------------------------ built-in data sets
@pytest.fixture(scope="module")
def sst2() -> FederatedData:
    return load_builtin("sst2")


def test_builtin_sst2_sizes_names_and_label_counts(sst2: FederatedData) -> None:
    # Prepare: GLUE SST-2 train 29,780 negative / 37,569 positive; dev 428 / 444
    expected_train, expected_eval = {0: 29780, 1: 37569}, {0: 428, 1: 444}

    # Execute
    train_counts, eval_counts = Counter(sst2.train["label"]), Counter(sst2.eval["label"])

    # Assert
    assert (len(sst2.train), len(sst2.eval)) == (67349, 872)
    assert sst2.label_names == ("negative", "positive")
    assert sst2.train.features["label"].names == ["negative", "positive"]
    assert dict(train_counts) == expected_train and dict(eval_counts) == expected_eval


def test_builtin_banking77_sizes_and_labels() -> None:
    # Prepare: the published intent list; the test split has 40 rows per intent
    path = resources.files("fedflm.data.builtin").joinpath("banking77_categories.json")
    categories = set(json.loads(path.read_text()))

    # Execute
    data = load_builtin("banking77")

    # Assert
    assert (len(data.train), len(data.eval)) == (10003, 3080)
    assert len(data.label_names) == 77 and set(data.label_names) == categories
    assert set(Counter(data.eval["label"]).values()) == {40}
    assert data.eval.features["label"].names == list(data.label_names)


def test_builtin_eval_cap_is_stratified() -> None:
    # Prepare
    cfg = DataConfig(dataset="banking77", eval_samples=770)

    # Execute
    data = load_federated_data(cfg, seed=3)

    # Assert: 770 of 3,080 rows, 10 per intent, the training pool untouched
    assert len(data.eval) == 770 and set(Counter(data.eval["label"]).values()) == {10}
    assert len(data.train) == 10003


# ------------------------------------------------------------------ eval file and hold-out
def test_eval_file_is_encoded_with_the_training_mapping(tmp_path: Path) -> None:
    # Prepare: the eval file holds only one of the labels, so alone it would map "pos" to 0
    train = write_table(tmp_path / "train.csv", ROWS)
    evals = write_table(tmp_path / "eval.jsonl", [("lovely", "pos"), ("superb", "pos")])

    # Execute
    data = load_federated_data(DataConfig(dataset=str(train), eval_file=str(evals)), seed=0)

    # Assert
    assert data.label_names == ("neg", "pos")
    assert data.eval["label"] == [1, 1] and len(data.train) == len(ROWS)


def test_unknown_label_in_eval_file_is_an_error(tmp_path: Path) -> None:
    # Prepare
    train = write_table(tmp_path / "train.csv", ROWS)
    evals = write_table(tmp_path / "eval.csv", [("fine", "pos"), ("meh", "neutral")])

    # Execute
    with pytest.raises(DataError) as info:
        load_federated_data(DataConfig(dataset=str(train), eval_file=str(evals)), seed=0)

    # Assert: names file, row and the label
    msg = str(info.value)
    assert "eval.csv" in msg and "row 2" in msg and "'neutral'" in msg


def _skewed_rows(n: int) -> list[tuple[str, str]]:
    """``n`` rows, 70 % 'a', 20 % 'b', 10 % 'c', in label order (worst case for a head split)."""
    labels = ["a"] * (7 * n // 10) + ["b"] * (2 * n // 10) + ["c"] * (n // 10)
    return [(f"text number {i}", lab) for i, lab in enumerate(labels)]


def test_holdout_is_stratified_disjoint_and_seeded(tmp_path: Path) -> None:
    # Prepare
    path = write_table(tmp_path / "skewed.csv", _skewed_rows(1000))
    cfg = DataConfig(dataset=str(path), eval_fraction=0.25)

    # Execute
    data = load_federated_data(cfg, seed=11)
    again = load_federated_data(cfg, seed=11)
    other = load_federated_data(cfg, seed=12)

    # Assert: 25 % held out with the pool's label balance, nothing shared with the clients
    assert len(data.eval) == 250 and len(data.train) == 750
    assert Counter(data.eval["label"]) == {0: 175, 1: 50, 2: 25}
    assert not set(data.eval["text"]) & set(data.train["text"])
    assert again.eval["text"] == data.eval["text"]
    assert other.eval["text"] != data.eval["text"]


def test_column_partition_keeps_the_column_through_the_holdout(tmp_path: Path) -> None:
    # Prepare
    rows = [(f"t{i}", "ab"[i % 2], f"site{i % 3}") for i in range(60)]
    path = write_table(tmp_path / "sites.parquet", rows, ("text", "label", "site"))

    # Execute
    data = load_federated_data(DataConfig(dataset=str(path), partition="column:site"), seed=0)

    # Assert
    assert set(data.train["site"]) == {"site0", "site1", "site2"}
    assert len(data.train) + len(data.eval) == 60


# ------------------------------------------------------------------ bad input
def test_missing_file(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "nowhere.csv"

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert str(info.value) == f"{path}: file not found"


@pytest.mark.parametrize("column", ["text", "label"])
def test_unknown_column_lists_the_columns(tmp_path: Path, column: str) -> None:
    # Prepare
    path = write_table(tmp_path / "cols.csv", ROWS, ("sentence", "sentiment"))

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "sentence" if column == "label" else "text",
                   "sentiment" if column == "text" else "label")

    # Assert
    msg = str(info.value)
    assert f"no {column} column '{column}'" in msg and "(columns: sentence, sentiment)" in msg


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.csv", b"", "file is empty"),
    ("header.csv", b"text,label\n", "contains no data rows (header only)"),
    ("header.tsv", b"text\tlabel\n\n", "contains no data rows (header only)"),
    ("blank.jsonl", b"\n  \n", "contains no data rows"),
])
def test_file_without_rows(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    # Prepare
    path = tmp_path / name
    path.write_bytes(content)

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert str(info.value) == f"{path}: {expected}"


def test_parquet_without_rows(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "none.parquet"
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=str)}).to_parquet(path)

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert str(info.value) == f"{path}: contains no data rows"


def test_non_utf8_text_names_the_line(tmp_path: Path) -> None:
    # Prepare: Latin-1 "café" on line 3
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"text,label\nfine,1\ncaf\xe9 au lait,0\n")

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert str(info.value) == f"{path}: line 3 is not valid UTF-8 (byte 0xe9 at column 4)"


def test_label_column_with_one_class(tmp_path: Path) -> None:
    # Prepare
    path = write_table(tmp_path / "one.csv", [("a", "yes"), ("b", "yes"), ("c", "yes")])

    # Execute
    with pytest.raises(DataError) as info:
        load_federated_data(DataConfig(dataset=str(path)), seed=0)

    # Assert
    assert "label column has only one class ('yes')" in str(info.value)


def test_empty_text_cell_names_row_and_column(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "gap.jsonl"
    path.write_text('{"text": "ok", "label": 1}\n{"text": "  ", "label": 0}\n', encoding="utf-8")

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert "row 2: column 'text' is empty" in str(info.value)


@pytest.mark.parametrize("name", ["sst3", "Banking-77"])
def test_unknown_dataset_name(name: str) -> None:
    # Prepare
    cfg = DataConfig(dataset=name)

    # Execute
    with pytest.raises(DataError) as info:
        load_federated_data(cfg, seed=0)

    # Assert
    assert f"unknown dataset {name!r}" in str(info.value) and "sst2, banking77" in str(info.value)


def test_unsupported_file_type(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK\x03\x04")

    # Execute
    with pytest.raises(DataError) as info:
        load_table(path, "text", "label")

    # Assert
    assert "unsupported file type" in str(info.value)

"""The interaction-log reader: both formats, and one error line naming file, row, column and value."""

from __future__ import annotations

import pytest

from fedflm.errors import DataError
from fedflm.recommend.log import Interaction, read_log, write_log
from fedflm.recommend.synthetic import TOPICS, synthetic_log


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_round_trip(tmp_path, suffix):
    log = synthetic_log(5, seed=1)
    assert read_log(write_log(log, tmp_path / f"log{suffix}")) == log


def test_csv_iso_timestamps_numbers_as_ids_and_extra_columns(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("user_id,item_id,item_text,timestamp,label,extra\n"
                    "7,42,jazz album,2024-01-02T03:04:05Z,1,x\n")
    assert read_log(path) == [Interaction("7", "42", "jazz album", 1704164645.0, 1)]


@pytest.mark.parametrize("line, expected", [
    ('u1,i1,jazz album,12,yes', "row 3, column 'label': must be 0 or 1, got 'yes'"),
    ('u1,i1,jazz album,yesterday,1', "row 3, column 'timestamp': must be a number or an ISO 8601 date/time, "
                                     "got 'yesterday'"),
    ('u1,i1,,12,1', "row 3, column 'item_text': must be a non-empty string, got ''"),
    ('u1,i1', "row 3: column 'item_text' is missing"),
])
def test_bad_csv_row_names_file_row_column_value(tmp_path, line, expected):
    path = tmp_path / "log.csv"
    path.write_text("user_id,item_id,item_text,timestamp,label\nu0,i0,soup book,1,1\n" + line + "\n")
    with pytest.raises(DataError) as err:
        read_log(path)
    assert str(err.value) == f"{path}: {expected}"


def test_bad_jsonl_row_and_missing_header_column(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"user_id": "u", "item_id": "i", "item_text": "t", "timestamp": 1, "label": 1}\n'
                    '{"user_id": "u", "item_id": "i", "item_text": "t", "timestamp": 2, "label": 2}\n')
    with pytest.raises(DataError, match=r"log.jsonl: row 2, column 'label': must be 0 or 1, got 2$"):
        read_log(path)
    header = tmp_path / "h.csv"
    header.write_text("user_id,item,item_text,timestamp,label\n")
    with pytest.raises(DataError, match=r"h.csv: row 1 \(header\), column 'item_id' is missing"):
        read_log(header)
    with pytest.raises(DataError, match="unknown interaction-log format '.txt'"):
        read_log(tmp_path.joinpath("x.txt").write_text("a") and tmp_path / "x.txt")


def test_synthetic_log_is_seeded_and_has_preference_signal():
    # Prepare / Execute
    log = synthetic_log(200, seed=3)
    topic_of = {w: t for t, words in TOPICS.items() for w in words}
    per_user: dict[str, dict[int, list[str]]] = {}
    for r in log:
        per_user.setdefault(r.user_id, {0: [], 1: []})[r.label].append(topic_of[r.item_text.split()[0]])
    # Assert: seeded; a user's two commonest positive topics cover most positives and no negative
    assert synthetic_log(200, seed=3) == log and synthetic_log(200, seed=4) != log
    share, neg_hits = [], 0
    for rows in per_user.values():
        top = sorted(set(rows[1]), key=rows[1].count, reverse=True)[:2]
        share.append(sum(t in top for t in rows[1]) / len(rows[1]))
        neg_hits += sum(t in top for t in rows[0])
    assert sum(share) / len(share) > 0.8
    assert neg_hits / sum(len(r[0]) for r in per_user.values()) < 0.2

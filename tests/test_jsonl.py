"""Tests for fedflm.jsonl: JSON Lines with errors naming file and line."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedflm.errors import DataError
from fedflm.jsonl import iter_json_objects, read_json, read_jsonl

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                    st.floats(allow_nan=False, allow_infinity=False))
_objects = st.lists(st.dictionaries(st.text(max_size=10), _values, max_size=5), max_size=10)


@given(_objects)
def test_round_trip_keeps_objects_and_order(objects):
    # Prepare
    lines = [json.dumps(o) + "\n" for o in objects]

    # Execute
    got = list(iter_json_objects(lines, "m.jsonl"))

    # Assert
    assert [o for _, o in got] == objects
    assert [n for n, _ in got] == list(range(1, len(objects) + 1))


def test_blank_lines_are_skipped_but_counted(tmp_path):
    # Prepare
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n\n   \n{"a": 2}\n', encoding="utf-8")

    # Execute
    numbered = list(iter_json_objects(path.read_text().splitlines(), path))

    # Assert
    assert numbered == [(1, {"a": 1}), (4, {"a": 2})]
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": 1}\n{"a": \n', r"m.jsonl: line 2: not valid JSON"),
    ('{"a": 1}\n\n[1, 2]\n', r"m.jsonl: line 3: expected a JSON object, got list"),
    ('"text"\n', r"m.jsonl: line 1: expected a JSON object, got str"),
])
def test_bad_line_names_file_and_line(tmp_path, text, message):
    # Prepare
    path = tmp_path / "m.jsonl"
    path.write_text(text, encoding="utf-8")

    # Execute / Assert
    with pytest.raises(DataError, match=message):
        read_jsonl(path)


def test_read_json_names_file_and_line(tmp_path):
    # Prepare
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"a": [1, 2]}', encoding="utf-8")
    bad.write_text('{\n  "a": 1,\n}', encoding="utf-8")

    # Execute / Assert
    assert read_json(good) == {"a": [1, 2]}
    with pytest.raises(DataError, match=r"bad.json: not valid JSON \(.* at line 3\)"):
        read_json(bad)

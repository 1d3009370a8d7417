from __future__ import annotations

import json

import pytest

from fedflm.causal.records import LMRecord, read_records, synthetic_records, write_jsonl
from fedflm.errors import DataError


def test_jsonl_round_trip_keeps_instruction_and_plain_text(tmp_path):
    # Prepare
    records = synthetic_records(5, seed=3) + [LMRecord("", "Just some plain text.")]
    # Execute
    back = read_records(write_jsonl(records, tmp_path / "d.jsonl"))
    # Assert
    assert back == records


def test_input_field_is_appended_to_the_instruction(tmp_path):
    # Prepare
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"instruction": "Summarise.", "input": "A long text.", "response": "Short."}) + "\n")
    # Execute
    (rec,) = read_records(path)
    # Assert
    assert rec == LMRecord("Summarise.\n\nA long text.", "Short.")


def test_txt_has_one_record_per_paragraph(tmp_path):
    # Prepare
    path = tmp_path / "notes.txt"
    path.write_text("first line\nstill first\n\nsecond\n\n\n")
    # Execute
    records = read_records(path)
    # Assert
    assert records == [LMRecord("", "first line\nstill first"), LMRecord("", "second")]


@pytest.mark.parametrize("line, message", [
    ('{"instruction": "x"}', "line 2: column 'response'"),
    ('not json', "line 2: not valid JSON"),
    ('{"text": ""}', "line 2: column 'text'"),
])
def test_bad_row_is_named(tmp_path, line, message):
    # Prepare
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    # Execute / Assert
    with pytest.raises(DataError, match=message):
        read_records(path)


def test_generator_is_seeded_and_varied():
    # Execute
    a, b, c = synthetic_records(40, seed=1), synthetic_records(40, seed=1), synthetic_records(40, seed=2)
    # Assert
    assert a == b and a != c
    assert len({r.prompt.split(" ")[0] for r in a}) == 4  # all four task kinds

"""issue 25: ``fedflm data prepare --task causal-lm | recommend``: the task's own format, de-identified and
encrypted into the same store as classification; the store names its task; users are pseudonymous and
timestamps are kept as order only; a bad row is one error line and nothing is written."""

from __future__ import annotations

import json

import pytest

from fedflm.causal.records import LMRecord, write_jsonl
from fedflm.cli.main import main
from fedflm.errors import StoreError
from fedflm.owner.task_store import prepare_task_file, read_interactions, read_lm_records, store_task
from fedflm.protect.deid import DeidConfig
from fedflm.protect.keys import write_key_file
from fedflm.protect.prepare import PrepareConfig
from fedflm.protect.store import open_store
from fedflm.recommend.log import Interaction, write_log
from owner_support import make_store

FAST = PrepareConfig(deid_config=DeidConfig(engine="patterns"))


def test_causal_records_are_deidentified_encrypted_and_read_back(tmp_path):
    # Prepare
    key = write_key_file(tmp_path / "k.key")
    records = [LMRecord("Write to jane.doe@example.com about the order.", "Dear customer, call 555-123-4567."),
               LMRecord("", "A plain text record without any personal data.")]
    # Execute
    summary = prepare_task_file("causal-lm", write_jsonl(records, tmp_path / "in.jsonl"), tmp_path / "s", key, FAST)
    back = read_lm_records(tmp_path / "s", key)
    # Assert: same records, the e-mail and phone number gone, the plain record unchanged
    assert store_task(tmp_path / "s", key) == "causal-lm" and summary["rows"] == 2
    assert "jane.doe@example.com" not in back[0].prompt and "555-123-4567" not in back[0].response
    assert back[1] == records[1] and back[0].prompt.startswith("Write to ")
    assert summary["deid"]["enabled"] and (summary["deid"]["records"], summary["deid"]["records_changed"]) == (2, 1)


def test_interactions_keep_order_and_labels_with_pseudonymous_users(tmp_path):
    # Prepare: two users, timestamps out of file order
    key = write_key_file(tmp_path / "k.key")
    log = [Interaction("alice@x.org", "i1", "a red lamp", 30.0, 1), Interaction("bob", "i2", "green tea", 5.0, 0),
           Interaction("alice@x.org", "i2", "green tea", 10.0, 1), Interaction("alice@x.org", "i3", "a book", 20.0, 0)]
    # Execute
    prepare_task_file("recommend", write_log(log, tmp_path / "in.csv"), tmp_path / "s", key, FAST)
    back = read_interactions(tmp_path / "s", key)
    again = tmp_path / "s2"
    prepare_task_file("recommend", write_log(log, tmp_path / "in2.csv"), again, key, FAST)
    # Assert: no user id and no timestamp stored; each user's order and labels kept; pseudonyms stable per key
    stored = " ".join(open_store(tmp_path / "s", key)["text"])
    assert "alice" not in stored and "bob" not in stored and "30.0" not in stored
    alice = sorted((r for r in back if r.user_id == back[0].user_id), key=lambda r: r.timestamp)
    assert [(r.item_id, r.label, r.timestamp) for r in alice] == [("i2", 1, 0.0), ("i3", 0, 1.0), ("i1", 1, 2.0)]
    assert len({r.user_id for r in back}) == 2
    assert [r.user_id for r in read_interactions(again, key)] == [r.user_id for r in back]
    other = write_key_file(tmp_path / "other.key")
    prepare_task_file("recommend", tmp_path / "in.csv", tmp_path / "s3", other, FAST)
    assert {r.user_id for r in read_interactions(tmp_path / "s3", other)}.isdisjoint({r.user_id for r in back})


def test_a_store_serves_only_its_own_task(tmp_path, sst2_sample):
    # Prepare
    store, key_file = make_store(tmp_path, sst2_sample[:4])
    from fedflm.protect.keys import read_key_file
    key = read_key_file(str(key_file))
    # Execute / Assert: a classification store names no task; reading it as a task's store fails by name
    assert store_task(store, key) == "classify"
    with pytest.raises(StoreError, match="holds classify data, not causal-lm"):
        read_lm_records(store, key)


def test_cli_bad_row_is_one_line_and_writes_nothing(tmp_path, capsys):
    # Prepare
    write_key_file(tmp_path / "k.key")
    bad = tmp_path / "log.jsonl"
    bad.write_text(json.dumps({"user_id": "u", "item_id": "i", "item_text": "t", "timestamp": 1, "label": 1}) + "\n"
                   + json.dumps({"user_id": "u", "item_id": "i", "item_text": "t", "timestamp": 2, "label": 7}) + "\n")
    # Execute
    code = main(["data", "prepare", "--task", "recommend", str(bad), "--out", str(tmp_path / "s"),
                 "--key-file", str(tmp_path / "k.key"), "--deid-engine", "patterns"])
    err = capsys.readouterr().err.strip().splitlines()
    # Assert
    assert code != 0 and len(err) == 1
    assert f"{bad}: row 2, column 'label': must be 0 or 1, got 7" in err[0]
    assert not (tmp_path / "s").exists()
    code = main(["data", "prepare", "--task", "causal-lm", str(bad), "--out", str(tmp_path / "s"),
                 "--text-column", "x", "--key-file", str(tmp_path / "k.key")])
    assert code != 0 and "--text-column / --label-column are for --task classify" in capsys.readouterr().err

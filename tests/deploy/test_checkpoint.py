"""Server checkpoints: encrypted, authenticated, atomic, no pickle; RNG states restored."""

from __future__ import annotations

import random
import stat
from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.deploy.checkpoint import (CHECKPOINT_NAME, Checkpoint, capture_rng, load_checkpoint, restore_rng,
                                      save_checkpoint)
from fedflm.errors import DecryptionError, StoreError
from fedflm.protect.keys import generate_key


def _ckpt(round_: int = 2) -> Checkpoint:
    arrays = OrderedDict([("lora_A", np.arange(6, dtype=np.float32).reshape(2, 3)),
                          ("classifier.bias", np.array([0.5, -1.25], dtype=np.float32))])
    rows = [{"round": 0, "accuracy": 0.5}, {"round": 1, "accuracy": 0.75, "clients_ok": 3}]
    return Checkpoint(round_, arrays, rows, '{"round": 1}\n', capture_rng(), "run-ab12", 1, 0)


def test_round_trip_restores_everything(tmp_path):
    # Prepare
    key, ckpt = generate_key(), _ckpt()

    # Execute
    path = save_checkpoint(tmp_path, ckpt, key)
    got = load_checkpoint(tmp_path, key)

    # Assert
    assert path.name == CHECKPOINT_NAME and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (got.round, got.rows, got.client_rows_text, got.run_id, got.segment) == (2, ckpt.rows,
                                                                                   ckpt.client_rows_text,
                                                                                   "run-ab12", 1)
    assert list(got.arrays) == list(ckpt.arrays)
    assert all(np.array_equal(got.arrays[k], ckpt.arrays[k]) and got.arrays[k].dtype == ckpt.arrays[k].dtype
               for k in ckpt.arrays)
    assert b"run-ab12" not in path.read_bytes() and b"accuracy" not in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_NAME]  # no temporary file left


def test_wrong_key_is_one_opaque_error(tmp_path):
    save_checkpoint(tmp_path, _ckpt(), generate_key())
    with pytest.raises(DecryptionError, match="cannot decrypt the checkpoint"):
        load_checkpoint(tmp_path, generate_key())


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_flipped_or_cut_byte_is_detected(tmp_path_factory, data):
    # Prepare
    folder = tmp_path_factory.mktemp("ck")
    key = generate_key()
    blob = bytearray(save_checkpoint(folder, _ckpt(), key).read_bytes())
    i = data.draw(st.integers(0, len(blob) - 1))
    if data.draw(st.booleans()):
        blob[i] ^= data.draw(st.integers(1, 255))
    else:
        del blob[i:]

    # Execute / Assert
    (folder / CHECKPOINT_NAME).write_bytes(bytes(blob))
    with pytest.raises(DecryptionError):
        load_checkpoint(folder, key)


def test_a_newer_checkpoint_replaces_the_old_one(tmp_path):
    key = generate_key()
    save_checkpoint(tmp_path, _ckpt(1), key)
    save_checkpoint(tmp_path, _ckpt(2), key)
    assert load_checkpoint(tmp_path, key).round == 2


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(StoreError, match="no checkpoint"):
        load_checkpoint(tmp_path, generate_key())


def test_rng_states_continue_the_same_sequences():
    # Prepare
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    state = capture_rng()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(99), np.random.seed(99), torch.manual_seed(99)

    # Execute
    restore_rng(state)

    # Assert
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_a_checkpoint_binds_its_run_id(tmp_path):
    # Prepare
    key = generate_key()
    save_checkpoint(tmp_path, _ckpt(), key)

    # Execute / Assert: the same run resumes, another run's id is refused
    assert load_checkpoint(tmp_path, key, run_id="run-ab12").run_id == "run-ab12"
    with pytest.raises(StoreError, match="checkpoint of run 'run-ab12', not of run 'run-other'"):
        load_checkpoint(tmp_path, key, run_id="run-other")

"""Encrypted store: round trip, tamper detection, wrong key, atomicity, rotation."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fedflm.errors import DecryptionError, KeyFileError, StoreError
from fedflm.protect import store_format as fmt
from fedflm.protect.keys import DataKey, generate_key
from fedflm.protect.store import StoreWriter, open_store, read_manifest, rotate_key, store_label_names, verify_store

TEXTS = ["first <PERSON> text", "second one", "ünïcødé ✓ third", "fourth", "fifth"]
LABELS = [0, 1, 1, 0, 2]
NAMES = ["neg", "pos", "neutral"]


def _write(path: Path, key: DataKey, rows_per_shard: int = 2) -> Path:
    with StoreWriter(path, key, NAMES, rows_per_shard=rows_per_shard) as w:
        w.add(TEXTS[:3], LABELS[:3])
        w.add(TEXTS[3:], LABELS[3:])
        w.commit({"deid": {"enabled": True, "counts": {"PERSON": 1}}})
    return path


@pytest.fixture()
def key() -> DataKey:
    return generate_key()


@pytest.fixture()
def store(tmp_path: Path, key: DataKey) -> Path:
    return _write(tmp_path / "store", key)


def test_round_trip_and_manifest(store: Path, key: DataKey) -> None:
    # Execute
    ds = open_store(store, key)
    manifest = read_manifest(store, key)
    # Assert
    assert ds["text"] == TEXTS and ds["label"] == LABELS
    assert store_label_names(ds) == NAMES
    body = manifest.body
    assert body["rows"] == 5 and [s["rows"] for s in body["shards"]] == [2, 2, 1]
    assert body["label_counts"] == [2, 2, 1] and body["deid"]["counts"] == {"PERSON": 1}
    assert body["key_id"] == key.key_id and body["format_version"] == fmt.FORMAT_VERSION
    assert body["tool"]["name"] == "fedflm"


def test_ciphertext_holds_no_plaintext(store: Path) -> None:
    # Execute
    blobs = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
    # Assert
    for text in TEXTS + NAMES:
        assert text.encode() not in blobs


def test_every_flipped_byte_of_a_shard_is_rejected(store: Path, key: DataKey) -> None:
    # Prepare
    manifest = read_manifest(store, key)
    shard = store / manifest.body["shards"][2]["file"]
    original = shard.read_bytes()
    rejected = 0
    # Execute
    for pos in range(len(original)):
        for mask in (0x01, 0x80):
            tampered = bytearray(original)
            tampered[pos] ^= mask
            shard.write_bytes(bytes(tampered))
            with pytest.raises(DecryptionError, match=r"shard 2 \(.*\): checksum mismatch"):
                open_store(store, key)  # same size, other bytes: the manifest's checksum catches it first
            rejected += 1
    # Assert
    assert rejected == 2 * len(original)


def test_every_flipped_byte_of_the_manifest_is_rejected(store: Path, key: DataKey) -> None:
    # Prepare
    path = store / fmt.MANIFEST_NAME
    original = path.read_bytes()
    rejected = 0
    # Execute
    for pos in range(len(original)):
        tampered = bytearray(original)
        tampered[pos] ^= 0x01
        path.write_bytes(bytes(tampered))
        with pytest.raises(StoreError):
            open_store(store, key)
        rejected += 1
    # Assert
    assert rejected == len(original)


@pytest.mark.parametrize("rewrite", [
    lambda head: head.replace(b'","', b'", "'),  # same values, other bytes (JSON with spaces)
    lambda head: head.replace(b'"dataset_id":"', b'"dataset_id":"x'),  # another dataset id
], ids=["reformatted", "dataset-id"])
def test_the_clear_manifest_header_is_authenticated(store: Path, key: DataKey, rewrite) -> None:
    # Prepare: change only the clear header line (the key id stays right, so it is not a wrong-key error)
    path = store / fmt.MANIFEST_NAME
    data = path.read_bytes()
    _, offset = fmt.parse_header(data, "m")
    path.write_bytes(rewrite(data[:offset]) + data[offset:])

    # Execute / Assert: the header is the AEAD's associated data, so GCM itself refuses it
    with pytest.raises(DecryptionError, match="failed authentication"):
        read_manifest(store, key)


def test_flips_are_caught_by_authentication_not_only_by_checksums(store: Path, key: DataKey) -> None:
    # Prepare: tamper with a shard AND update the manifest's checksum is impossible without the key;
    # here we bypass the checksum to prove the AEAD alone catches the change
    manifest = read_manifest(store, key)
    entry = manifest.body["shards"][0]
    blob = bytearray((store / entry["file"]).read_bytes())
    blob[-1] ^= 0x01
    # Execute / Assert
    with pytest.raises(DecryptionError, match="failed authentication"):
        fmt.decode_shard(key, manifest.header, 0, bytes(blob), "shard 0")


def test_swapped_shards_are_rejected(store: Path, key: DataKey) -> None:
    # Prepare
    shards = read_manifest(store, key).body["shards"]
    a, b = store / shards[0]["file"], store / shards[1]["file"]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    # Execute / Assert
    with pytest.raises(DecryptionError, match="shard 0"):
        open_store(store, key)


def test_swapped_shard_fails_authentication_even_with_matching_checksum(store: Path, key: DataKey) -> None:
    # Prepare: shard 1's bytes presented as shard 0 (AAD binds the index)
    manifest = read_manifest(store, key)
    blob1 = (store / manifest.body["shards"][1]["file"]).read_bytes()
    # Execute / Assert
    with pytest.raises(DecryptionError):
        fmt.decode_shard(key, manifest.header, 0, blob1, "shard 0")


def test_shard_from_another_store_is_rejected(tmp_path: Path, store: Path, key: DataKey) -> None:
    # Prepare: same key, same rows, different dataset id
    other = _write(tmp_path / "other", key)
    name = read_manifest(store, key).body["shards"][0]["file"]
    shutil.copy(other / name, store / name)
    # Execute / Assert
    with pytest.raises(DecryptionError, match="shard 0"):
        open_store(store, key)


def test_wrong_key_is_rejected(store: Path) -> None:
    # Execute / Assert
    with pytest.raises(DecryptionError, match="wrong key"):
        open_store(store, generate_key())


def test_wrong_key_with_forged_key_id_fails_authentication(store: Path, key: DataKey) -> None:
    # Prepare: rewrite the clear header to claim the attacker's key id
    other = generate_key()
    path = store / fmt.MANIFEST_NAME
    path.write_bytes(path.read_bytes().replace(key.key_id.encode(), other.key_id.encode(), 1))
    # Execute / Assert
    with pytest.raises(DecryptionError, match="failed authentication"):
        open_store(store, other)


def test_missing_shard_is_named(store: Path, key: DataKey) -> None:
    # Prepare
    (store / read_manifest(store, key).body["shards"][1]["file"]).unlink()
    # Execute / Assert
    with pytest.raises(StoreError, match="shard 1 .*missing"):
        open_store(store, key)


def test_truncated_shard_and_manifest_are_rejected(store: Path, key: DataKey) -> None:
    # Prepare
    shard = store / read_manifest(store, key).body["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:-5])
    # Execute / Assert
    with pytest.raises(DecryptionError, match="shard 0.*truncated"):
        open_store(store, key)
    manifest = store / fmt.MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes()[:-1])
    with pytest.raises(DecryptionError):
        open_store(store, key)


def test_newer_format_version_is_named(store: Path, key: DataKey) -> None:
    # Prepare
    path = store / fmt.MANIFEST_NAME
    path.write_bytes(path.read_bytes().replace(b'"format_version":1', b'"format_version":7', 1))
    # Execute / Assert
    with pytest.raises(StoreError, match="format version 7 is newer"):
        open_store(store, key)


def test_verify_store_reports_each_shard(store: Path, key: DataKey) -> None:
    # Prepare
    shard = store / read_manifest(store, key).body["shards"][1]["file"]
    blob = bytearray(shard.read_bytes())
    blob[20] ^= 0xFF
    shard.write_bytes(bytes(blob))
    # Execute
    _, status = verify_store(store, key)
    # Assert
    assert [s["ok"] for s in status] == [True, False, True]
    assert "shard 1" in status[1]["error"]


def test_interrupted_write_leaves_no_valid_looking_store(tmp_path: Path, key: DataKey) -> None:
    # Prepare / Execute: an exception between adding rows and committing
    out = tmp_path / "store"
    with pytest.raises(RuntimeError):
        with StoreWriter(out, key, NAMES, rows_per_shard=1) as w:
            w.add(TEXTS, LABELS)
            raise RuntimeError("killed")
    # Assert
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StoreError, match="not found"):
        open_store(out, key)


def test_killed_write_leaves_only_a_hidden_temp_dir_without_manifest(tmp_path: Path, key: DataKey) -> None:
    # Prepare: simulate a kill -9 (no cleanup runs) by abandoning the writer before commit
    out = tmp_path / "store"
    w = StoreWriter(out, key, NAMES, rows_per_shard=1)
    w.add(TEXTS, LABELS)
    # Assert
    leftovers = list(tmp_path.iterdir())
    assert not out.exists() and len(leftovers) == 1 and leftovers[0].name.startswith(".store.tmp-")
    assert not (leftovers[0] / fmt.MANIFEST_NAME).exists()
    with pytest.raises(StoreError, match="not a complete store"):
        open_store(leftovers[0], key)


def test_refuses_to_overwrite_a_store(store: Path, key: DataKey) -> None:
    # Execute / Assert
    with pytest.raises(StoreError, match="already exists"):
        StoreWriter(store, key, NAMES)


def test_rotation_old_key_fails_new_key_reads_same_data(store: Path, key: DataKey) -> None:
    # Prepare
    new = generate_key()
    before = open_store(store, key)
    old_files = {p.name for p in (store / fmt.SHARD_DIR).iterdir()}
    # Execute
    rotate_key(store, key, new)
    # Assert
    after = open_store(store, new)
    assert after["text"] == before["text"] and after["label"] == before["label"]
    with pytest.raises(DecryptionError, match="wrong key"):
        open_store(store, key)
    assert old_files.isdisjoint(p.name for p in (store / fmt.SHARD_DIR).iterdir())
    assert read_manifest(store, new).body["dataset_id"] == read_manifest(store, new).header.dataset_id


def test_rotation_interrupted_before_commit_keeps_old_store(store: Path, key: DataKey,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: make the commit (os.replace of the manifest) fail
    import fedflm.protect.store as store_mod

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("power cut")
    monkeypatch.setattr(store_mod.os, "replace", boom)
    # Execute
    with pytest.raises(OSError):
        rotate_key(store, key, generate_key())
    monkeypatch.undo()
    # Assert: the old key still opens the unchanged store
    assert open_store(store, key)["text"] == TEXTS


def test_rotation_to_same_key_is_refused(store: Path, key: DataKey) -> None:
    # Execute / Assert
    with pytest.raises(KeyFileError, match="same"):
        rotate_key(store, key, DataKey(key.secret))


def test_nonces_are_fresh_per_shard(tmp_path: Path, key: DataKey) -> None:
    # Prepare: identical content in every shard
    out = tmp_path / "s"
    with StoreWriter(out, key, NAMES, rows_per_shard=1) as w:
        w.add(["same"] * 4, [0] * 4)
        w.commit()
    # Execute
    nonces = {p.read_bytes()[:fmt.NONCE_BYTES] for p in (out / fmt.SHARD_DIR).iterdir()}
    # Assert
    assert len(nonces) == 4


def test_no_plaintext_file_is_written_when_opening(store: Path, key: DataKey, tmp_path: Path) -> None:
    # Prepare
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    # Execute
    open_store(store, key)
    # Assert: nothing new or changed in the store; nothing left in the temp dir
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == before
    assert os.listdir(tmp_path) == ["store"]


def test_prepare_killed_with_sigkill_leaves_no_store(tmp_path: Path, key: DataKey) -> None:
    # Prepare: a real process writing shard after shard, killed -9 mid-way (no cleanup can run)
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "store"
    script = (
        "import sys, time\n"
        "from fedflm.protect.keys import DataKey\n"
        "from fedflm.protect.store import StoreWriter\n"
        f"w = StoreWriter({str(out)!r}, DataKey(bytes.fromhex({key.secret.hex()!r})), ['a'], rows_per_shard=1)\n"
        "for i in range(10000):\n"
        "    w.add([f'row {i}'], [0])\n"
        "    if i == 3: print('writing', flush=True)\n"
        "    time.sleep(0.01)\n"
        "w.commit()\n")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # Assert: shards were written, but nothing under the store's name and no manifest anywhere
    leftovers = list(tmp_path.iterdir())
    assert not out.exists() and len(leftovers) == 1
    assert any((leftovers[0] / fmt.SHARD_DIR).iterdir())
    assert not list(tmp_path.rglob(fmt.MANIFEST_NAME))
    with pytest.raises(StoreError):
        open_store(leftovers[0], key)

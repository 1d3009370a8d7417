"""Benchmark: encryption at rest (AES-256-GCM) and the store's end-to-end speed.

Measures, on one thread, CPU seconds (per core) and wall seconds for:
* AES-GCM seal / unseal of shard-sized payloads (the primitive; target >= 1 GB/s/core);
* writing a store (JSON + encrypt + fsync) and opening it into a ``datasets.Dataset``
  (decrypt + JSON + Arrow) for synthetic records of SST-2-like length.

    python simulations/bench_store.py [--mb 256] [--rows 200000]

Prints a table and ``BENCH_JSON {...}`` last (see simulations/bench_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.protect import store_format as fmt  # noqa: E402
from fedflm.protect.keys import generate_key  # noqa: E402
from fedflm.protect.store import StoreWriter, open_store  # noqa: E402

TARGET_MB_S = 1000.0


def _timed(fn) -> tuple[float, float]:
    """(cpu seconds, wall seconds) of fn()."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def bench_aead(total_mb: int, shard_mb: int = 4) -> dict[str, float]:
    key = generate_key()
    header = fmt.Header("0" * 32, fmt.FORMAT_VERSION, 0, key.key_id)
    payload = os.urandom(shard_mb * 2**20)
    n = max(1, total_mb // shard_mb)
    aad = fmt.shard_aad(header, 0)
    blobs: list[bytes] = []
    enc_cpu, enc_wall = _timed(lambda: blobs.extend(fmt.seal(key, payload, aad) for _ in range(n)))
    dec_cpu, dec_wall = _timed(lambda: [fmt.unseal(key, b, aad, "bench") for b in blobs])
    mb = n * shard_mb * 1.048576  # MB (10^6 bytes)
    return {"aead_encrypt_mb_s_core": mb / enc_cpu, "aead_decrypt_mb_s_core": mb / dec_cpu,
            "aead_encrypt_mb_s_wall": mb / enc_wall, "aead_decrypt_mb_s_wall": mb / dec_wall,
            "aead_mb": mb}


def bench_store(rows: int) -> dict[str, float]:
    key = generate_key()
    texts = [f"record {i} : it 's a charming and often affecting journey about <PERSON> ." for i in range(rows)]
    labels = [i % 2 for i in range(rows)]
    plain_mb = sum(len(t.encode()) for t in texts) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "store"

        def write() -> None:
            with StoreWriter(out, key, ["neg", "pos"], rows_per_shard=5000) as w:
                for start in range(0, rows, 1000):
                    w.add(texts[start:start + 1000], labels[start:start + 1000])
                w.commit()
        w_cpu, w_wall = _timed(write)
        opened = []
        r_cpu, r_wall = _timed(lambda: opened.append(open_store(out, key)))
        assert len(opened[0]) == rows
    return {"store_rows": rows, "store_text_mb": plain_mb,
            "store_write_rows_s_core": rows / w_cpu, "store_write_mb_s_core": plain_mb / w_cpu,
            "store_open_rows_s_core": rows / r_cpu, "store_open_mb_s_core": plain_mb / r_cpu,
            "store_write_s_wall": w_wall, "store_open_s_wall": r_wall}


def main() -> None:
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=64 if quick else 256, help="MB to encrypt/decrypt")
    parser.add_argument("--rows", type=int, default=20_000 if quick else 200_000, help="records in the store")
    args = parser.parse_args()
    res = {**bench_aead(args.mb), **bench_store(args.rows)}
    print(f"AES-256-GCM, 4 MiB shards, {res['aead_mb']:.0f} MB, one thread (cryptography/OpenSSL):")
    print(f"  encrypt {res['aead_encrypt_mb_s_core']:8.0f} MB/s per core   (wall {res['aead_encrypt_mb_s_wall']:.0f})")
    print(f"  decrypt {res['aead_decrypt_mb_s_core']:8.0f} MB/s per core   (wall {res['aead_decrypt_mb_s_wall']:.0f})")
    ok = min(res["aead_encrypt_mb_s_core"], res["aead_decrypt_mb_s_core"]) >= TARGET_MB_S
    print(f"  target >= {TARGET_MB_S:.0f} MB/s/core: {'met' if ok else 'NOT met'}")
    print(f"store end to end, {res['store_rows']} records ({res['store_text_mb']:.1f} MB of text):")
    print(f"  write (JSON + encrypt + fsync) {res['store_write_rows_s_core']:10.0f} rows/s per core "
          f"({res['store_write_mb_s_core']:.0f} MB/s), wall {res['store_write_s_wall']:.2f} s")
    print(f"  open  (decrypt + JSON + Arrow) {res['store_open_rows_s_core']:10.0f} rows/s per core "
          f"({res['store_open_mb_s_core']:.0f} MB/s), wall {res['store_open_s_wall']:.2f} s")
    res["aead_target_met"] = ok
    print("BENCH_JSON " + json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()}))


if __name__ == "__main__":
    main()

"""End to end (the real CLI, Ray simulation, tiny model): ``--long-text sliding`` under DP-SGD. The
server evaluates one pooled row per document; each owner's ledger counts documents (q = batch /
documents), both for the round-1 prototypes (one vector per document) and the DP-SGD round."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from one_actor import ONE_ACTOR

pytestmark = [pytest.mark.slow, pytest.mark.federation]

ROOT = Path(__file__).resolve().parents[2]
DOCS, BATCH = 60, 4


@pytest.fixture(scope="module")
def sliding_run(tiny_model_dir, sst2_sample, tmp_path_factory, shared_ray_cluster) -> Path:
    """60 documents of 3 SST-2 sentences each (labelled by the last), 2 owners, 2 rounds, epsilon 8."""
    tmp = tmp_path_factory.mktemp("long-text")
    rows = ["text,label"]
    for i in range(DOCS):
        (a, _), (b, _), (c, y) = sst2_sample[3 * i: 3 * i + 3]
        rows.append(f'"{" ".join((a, b, c)).replace(chr(34), chr(39))}",{"positive" if y else "negative"}')
    csv = tmp / "long.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    # Ray's default temp dir, as the other end-to-end tests: a RAY_TMPDIR under pytest's tmp path makes
    # Ray's socket paths exceed AF_UNIX's 107 bytes on a default --basetemp.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    out = tmp / "run"
    proc = subprocess.run([sys.executable, "-m", "fedflm.cli.main", "simulate", "--dataset", str(csv),
                           "--model", str(tiny_model_dir), "--clients", "2", "--rounds", "2", "--partition", "iid",
                           "--max-length", "96", "--long-text", "sliding:16:8:max", "--batch-size", str(BATCH),
                           "--dp", "sample", "--epsilon", "8", "--seed", "1", "--out", str(out), "--quiet",
                           "--client-cpus", str(ONE_ACTOR.client_cpus)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_server_scores_documents_not_windows(sliding_run: Path) -> None:
    # Prepare
    summary = json.loads((sliding_run / "summary.json").read_text())

    # Execute
    scored = sum(map(sum, summary["confusion_matrix"]))

    # Assert: the 20 % held out, one row per document (each has several windows of 16 tokens)
    assert summary["status"] == "complete" and scored == DOCS // 5


def test_each_owners_ledger_counts_documents(sliding_run: Path) -> None:
    # Prepare
    clients = json.loads((sliding_run / "clients.json").read_text())["clients"]

    # Execute
    ledgers = {p.stem: [json.loads(x) for x in p.read_text().splitlines()]
               for p in (sliding_run / "ledgers").glob("*.jsonl")}

    # Assert: round 1 releases prototypes (rate 1, one vector per document), round 2 samples documents
    assert len(ledgers) == 2
    for c in clients:
        docs = sum(c["label_counts"])
        entries = ledgers[f"client-{c['partition_id']}"]
        assert [(e["round"], e["sample_rate"]) for e in entries] == [(1, 1.0), (2, pytest.approx(BATCH / docs))]

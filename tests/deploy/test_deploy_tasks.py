"""issue 25: ``--task causal-lm`` and ``--task recommend`` deployed end to end on loopback, TLS + node auth:
two SuperLinks at once (the operator's runs), three owners' nodes (SuperNode + warm trainer, as ``fedflm client
start`` runs them) on encrypted task stores (``fedflm data prepare --task``), sample-level DP under each owner's
own policy. The causal-lm run also reaches an owner whose
store holds recommendation data: it refuses every round with one typed code and spends nothing."""

from __future__ import annotations

import json

import pytest

from deploy_support import NODES, wait_for
from fedflm.causal.config import CausalRunConfig
from fedflm.causal.records import synthetic_records, write_jsonl
from fedflm.config import DPConfig
from fedflm.deploy.finish import finish_run
from fedflm.owner.task_store import prepare_task_file
from fedflm.privacy import ledger
from fedflm.protect.deid import DeidConfig
from fedflm.protect.keys import read_key_file, write_key_file
from fedflm.protect.prepare import PrepareConfig
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.log import write_log
from fedflm.recommend.synthetic import synthetic_log

pytestmark = pytest.mark.slow

FAST = PrepareConfig(deid_config=DeidConfig(engine="patterns"))


def _store(root, name: str, task: str, seed: int):
    """An owner's store of ``task`` data (its own records / its own users' log), and its key file."""
    key = write_key_file(root / f"{name}.key")
    data = (write_jsonl(synthetic_records(48, seed=seed), root / f"{name}.jsonl") if task == "causal-lm"
            else write_log(synthetic_log(40, seed=seed), root / f"{name}.csv"))
    prepare_task_file(task, data, root / f"{name}.store", key, FAST)
    return root / f"{name}.store", root / f"{name}.key"


def _client(processes, run, name: str, store) -> None:
    """The owner's node as ``fedflm client start`` runs it (a SuperNode and its warm trainer) on ``store``."""
    processes.client(run, name, store=store[0], key_file=store[1])


def _rows(run) -> list[dict]:
    return [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]


def test_causal_lm_and_recommend_runs_deployed_with_owner_policies(processes, tiny_llama_dir, tiny_bert_factory,
                                                                   tmp_path):
    # Prepare: node-0 holds instruction records; node-1 and node-2 hold interaction logs; each server its own eval
    stores = {"node-0": _store(tmp_path, "node-0", "causal-lm", 1),
              "node-1": _store(tmp_path, "node-1", "recommend", 2),
              "node-2": _store(tmp_path, "node-2", "recommend", 3)}
    corpus = sorted({r.item_text for r in synthetic_log(60, seed=99)})
    rec_model = tiny_bert_factory(tmp_path / "tiny-bert", corpus * 3, vocab_size=200)
    dp = dict(dp="sample", epsilon=8.0, secure_mode=True)
    causal = CausalRunConfig(
        dataset="synthetic:4", eval_file=str(write_jsonl(synthetic_records(12, seed=9), tmp_path / "eval.jsonl")),
        model=str(tiny_llama_dir), clients=2, rounds=2, local_steps=2, batch_size=8, lr=0.01, max_length=48,
        prompts=1, max_new_tokens=4, out=str(tmp_path / "runs" / "causal"), privacy=DPConfig(**dp))
    recommend = RecommendRunConfig(
        eval_file=str(write_log(synthetic_log(16, seed=8), tmp_path / "eval.csv")), model=str(rec_model),
        pooling="mean", clients=1, rounds=2, local_steps=2, batch_size=8, max_length=48, embed_dim=8,
        eval_negatives=10, out=str(tmp_path / "runs" / "recommend"), privacy=DPConfig(**dp))
    runs = {"causal": processes.server(causal), "recommend": processes.server(recommend)}
    for run in runs.values():
        run.submit()
    _client(processes, runs["causal"], "node-0", stores["node-0"])
    _client(processes, runs["causal"], "node-1", stores["node-1"])  # a recommendation store: refuses causal-lm
    _client(processes, runs["recommend"], "node-2", stores["node-2"])

    # Execute
    status = {name: run.wait(timeout=600) for name, run in runs.items()}
    reports = {name: finish_run(run.run_dir) for name, run in runs.items()}

    # Assert: both runs complete, over TLS, with the run directory of a simulated run of the task
    assert status == {"causal": "complete", "recommend": "complete"}, \
        [(run.work / "run.log").read_text()[-3000:] for run in runs.values()]
    rows = {name: _rows(run) for name, run in runs.items()}
    assert [r["round"] for r in rows["causal"]] == [0, 1, 2] == [r["round"] for r in rows["recommend"]]
    summary = {name: json.loads((run.run_dir / "summary.json").read_text()) for name, run in runs.items()}
    assert summary["causal"]["task"] == "causal-lm" and summary["recommend"]["task"] == "recommend"
    assert {s["transport"] for s in summary.values()} == {"tls"}
    assert summary["causal"]["eval_records"] == 12 and summary["causal"]["perplexity_after"] > 1
    assert len(summary["causal"]["generations"]) == 1
    assert summary["recommend"]["eval_users"] > 0 and 0 <= summary["recommend"]["after"]["auc"] <= 1
    assert "popularity_baseline" in summary["recommend"]
    assert all(r is not None and r.is_file() for r in reports.values())
    # the causal run: node-0 trained both rounds, node-1 refused both as "task"; each owner's ledger is its own
    assert [(r["clients_ok"], r["clients_failed"]) for r in rows["causal"][1:]] == [(1, 1), (1, 1)]
    clients = [json.loads(line) for line in (runs["causal"].run_dir / "client_metrics.jsonl").read_text().splitlines()]
    assert sorted(c.get("refusal", c["status"]) for c in clients) == ["ok", "ok", "task", "task"]
    assert all("num_examples" not in c and "train_loss" not in c for c in clients)
    states = {n: processes.owner(n).state_dir / n / "ledger.jsonl" for n in NODES}
    key = read_key_file(str(stores["node-0"][1])).secret  # the MACs check with the owner's own key
    assert [e["round"] for e in ledger.verify(states["node-0"], key)] == [1, 2]
    assert not states["node-1"].exists()  # refused: nothing spent
    entries = ledger.verify(states["node-2"], read_key_file(str(stores["node-2"][1])).secret)
    assert [e["round"] for e in entries] == [1, 2] and rows["recommend"][-1]["epsilon_max"] <= 8.0
    wait_for(lambda: "REFUSED" in (processes.owner("node-1").state_dir / "node-1" / "console.log").read_text(),
             10, "node-1's console line")

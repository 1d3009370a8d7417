"""A simulated causal-LM federation, in one process (issue 25, part 1).

The server holds out a set of records and measures its perplexity before training and after
every round. Each round, every simulated owner trains the LoRA adapter from the global one on
its own records -- under ``dp = sample`` through the same DP-SGD plan, cap and ledger as the
classification task (:func:`fedflm.privacy.federation.train_private`: calibrated once for the
run, the ledger fsync'd before the update is handed back) -- and the server averages the
adapters (uniformly under DP, by record count without). Owners run one after another on one
model in this process: not Flower, no Ray (the Flower apps and deployment do not know this task).
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from fedflm.causal.config import SYNTHETIC, CausalRunConfig
from fedflm.causal.encode import RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.records import LMRecord, read_records, synthetic_records
from fedflm.causal.train import LocalSpec, generate, perplexity, record_loader, train_causal
from fedflm.fl.rundir import default_run_dir
from fedflm.privacy.federation import client_owner, plan_text, train_private


def split_records(cfg: CausalRunConfig) -> tuple[list[list[LMRecord]], list[LMRecord]]:
    """(each owner's records, the server's held-out records): seeded shuffle, IID split."""
    if cfg.dataset.startswith(SYNTHETIC):
        records = synthetic_records(int(cfg.dataset.partition(":")[2] or 2000), seed=cfg.seed)
    else:
        records = read_records(cfg.dataset)
    rng = random.Random(cfg.seed)
    records = rng.sample(records, len(records))
    if cfg.eval_file:
        held = read_records(cfg.eval_file)
    else:
        k = max(1, round(cfg.eval_fraction * len(records)))
        held, records = records[:k], records[k:]
    if cfg.eval_samples:
        held = held[:cfg.eval_samples]
    from fedflm.errors import DataError
    if len(records) < cfg.clients:
        raise DataError(f"{cfg.dataset}: {len(records)} training records for {cfg.clients} clients")
    return [records[i::cfg.clients] for i in range(cfg.clients)], held


def _average(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    total = sum(weights)
    return {k: sum(w / total * s[k] for s, w in zip(states, weights)) for k in states[0]}


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kib / (1024 if sys.platform != "darwin" else 1024 * 1024), 1)


class _Run:
    def __init__(self, cfg: CausalRunConfig) -> None:
        from peft import get_peft_model_state_dict, set_peft_model_state_dict

        self.cfg, self.get, self.set = cfg, get_peft_model_state_dict, set_peft_model_state_dict
        self.rcfg = cfg.privacy_config()
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "INCOMPLETE").write_text("running\n")
        torch.manual_seed(cfg.seed)
        self.model, self.tok = load_causal_lm(cfg.model, cfg.lora_r, cfg.lora_alpha, cfg.target_modules)
        owners, held = split_records(cfg)
        self.owners = [RecordDataset(r, self.tok, cfg.max_length, cfg.max_sequences) for r in owners]
        self.held = RecordDataset(held, self.tok, cfg.max_length, cfg.max_sequences)
        self.prompts = [r.prompt for r in held if r.prompt][:cfg.prompts]
        self.spec = LocalSpec(cfg.local_steps, cfg.batch_size, cfg.lr)

    def evaluate(self, server_round: int) -> dict[str, Any]:
        m = perplexity(self.model, self.held, self.tok.pad_token_id)
        return {"round": server_round, "perplexity": round(m["perplexity"], 4), "loss": round(m["loss"], 5),
                "eval_tokens": m["tokens"]}

    def owner_round(self, pid: int, server_round: int, start: dict[str, torch.Tensor]) -> dict[str, Any]:
        self.set(self.model, start)
        data = self.owners[pid]
        seed = self.cfg.seed * 1000 + server_round * 97 + pid
        loader = record_loader(data, self.cfg.batch_size, self.tok.pad_token_id, seed)
        run = lambda privatize=None: train_causal(self.model, loader, self.spec, privatize)  # noqa: E731
        row: dict[str, Any] = {"round": server_round, "partition_id": pid, "records": len(data)}
        if self.cfg.dp == "none":
            result = run()
            row["train_loss"] = round(result.loss, 5)
        else:  # ledger recorded (fsync'd) before train_private returns
            owner = client_owner(self.rcfg, {}, pid)
            _, outcome = train_private(self.rcfg, owner, len(data), server_round, run, noise_seed=seed)
            row["epsilon"] = round(outcome.epsilon, 4)
        row["state"] = {k: v.detach().clone() for k, v in self.get(self.model).items()}
        return row

    def run(self) -> dict[str, Any]:
        t0, cfg = time.perf_counter(), self.cfg
        if cfg.dp == "sample":
            print(plan_text(self.rcfg, [len(d) for d in self.owners]), flush=True)
        else:
            print("WARNING: --dp none: no formal privacy for the data owners", flush=True)
        before = self.evaluate(0)
        gens_before = generate(self.model, self.tok, self.prompts, cfg.max_new_tokens)
        metrics = [before]
        self._append("metrics.jsonl", before)
        for rnd in range(1, cfg.rounds + 1):
            start = {k: v.detach().clone() for k, v in self.get(self.model).items()}
            rows = [self.owner_round(pid, rnd, start) for pid in range(cfg.clients)]
            weights = [1.0] * len(rows) if cfg.dp == "sample" else [float(r["records"]) for r in rows]
            self.set(self.model, _average([r.pop("state") for r in rows], weights))
            for r in rows:
                self._append("client_metrics.jsonl", r)
            row = self.evaluate(rnd) | {"clients_ok": len(rows), "seconds": round(time.perf_counter() - t0, 1)}
            if cfg.dp == "sample":
                row["epsilon_max"] = max(r["epsilon"] for r in rows)
            print(json.dumps(row), flush=True)
            metrics.append(row)
            self._append("metrics.jsonl", row)
        return self._finish(metrics, gens_before, time.perf_counter() - t0)

    def _finish(self, metrics: list[dict[str, Any]], gens_before: list[str], wall: float) -> dict[str, Any]:
        gens_after = generate(self.model, self.tok, self.prompts, self.cfg.max_new_tokens)
        self.model.save_pretrained(self.out / "adapter")
        summary = {
            "task": "causal-lm", "config": asdict(self.cfg), "dp": self.cfg.dp,
            "perplexity_before": metrics[0]["perplexity"], "perplexity_after": metrics[-1]["perplexity"],
            "epsilon_max": metrics[-1].get("epsilon_max"), "records_per_owner": [len(d) for d in self.owners],
            "eval_records": len(self.held), "records_cut": sum(d.truncated for d in self.owners),
            "generations": [{"prompt": p, "before": b, "after": a}
                            for p, b, a in zip(self.prompts, gens_before, gens_after)],
            "wall_time_s": round(wall, 1), "peak_rss_mib": _peak_rss_mib(),
            "simulation": "in-process, owners one after another on one model (no Flower, no Ray)"}
        if self.cfg.dp == "none":
            summary["warnings"] = ["dp none: no formal privacy"]
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2))
        (self.out / "INCOMPLETE").unlink()
        return summary

    def _append(self, name: str, row: dict[str, Any]) -> None:
        with open(self.out / name, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def simulate_causal(cfg: CausalRunConfig | dict[str, Any]) -> dict[str, Any]:
    """Run a simulated causal-LM federation; returns ``summary.json``'s content."""
    if not isinstance(cfg, CausalRunConfig):
        cfg = CausalRunConfig.from_flat(cfg)
    if not cfg.out:
        cfg = CausalRunConfig.from_flat(asdict(cfg) | {"out": str(default_run_dir())})
    return _Run(cfg).run()

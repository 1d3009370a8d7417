"""Benchmark: the Simulation Engine's overhead and memory.

1. One simulated round (Flower + Ray, N clients, the real ServerApp/ClientApp)
   vs a plain Python loop doing the same work in one process: the same
   clients' partitions, the same local training, the same global evaluation.
   Target: simulated / plain <= 1.15x (per round, start-up excluded).
2. Peak RSS of a 100-client simulation (main process + every Ray worker,
   sampled every 0.2 s). Target <= 4 GB on 2 cores.

Prints `BENCH_JSON {...}` last. FEDFLM_BENCH_QUICK=1 runs smaller sizes.

    python simulations/bench_simulation.py [--clients 10] [--samples 64]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")

import psutil  # noqa: E402
import torch  # noqa: E402

import fedflm  # noqa: E402
from fedflm.config import RunConfig  # noqa: E402
from fedflm.fl.client_data import lazy_partitions, federated_data  # noqa: E402
from fedflm.models.lora import (build_model, get_adapter_state, load_tokenizer,  # noqa: E402
                                resolve_device, set_adapter_state)
from fedflm.train.batching import TokenizedDataset, eval_loader, train_loader  # noqa: E402
from fedflm.train.local import evaluate, train_local  # noqa: E402


class PeakRSS:
    """Samples the RSS of this process and all its descendants (Ray workers included)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        me = psutil.Process()
        procs = [me] + me.children(recursive=True)
        try:  # Ray's raylet/workers are started by a daemon child; catch them by name too
            procs += [p for p in psutil.process_iter(["name", "cmdline"])
                      if p.info["name"] and ("ray::" in p.info["name"] or "raylet" in p.info["name"]
                                             or "gcs_server" in p.info["name"])]
        except psutil.Error:
            pass
        total, seen = 0, set()
        for p in procs:
            if p.pid in seen:
                continue
            seen.add(p.pid)
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def plain_round(cfg: RunConfig) -> float:
    """Seconds for one round's work without Flower/Ray: every client trains, then evaluate."""
    data = federated_data(cfg.data, cfg.fed.seed)
    parts = lazy_partitions(cfg.data, cfg.fed.clients, cfg.fed.seed)
    model = build_model(cfg.model, data.label_names, cfg.fed.seed)
    tok = load_tokenizer(cfg.model)
    device = resolve_device(cfg.model.device)
    ev = eval_loader(TokenizedDataset(data.eval, tok, cfg.data.max_length), 128)
    init = get_adapter_state(model)
    t0 = time.perf_counter()
    for i, part in enumerate(parts):
        set_adapter_state(model, init)
        loader = train_loader(TokenizedDataset(part, tok, cfg.data.max_length),
                              cfg.train.batch_size, seed=i)
        train_local(model, loader, cfg.train, device)
    evaluate(model, ev, device, len(data.label_names))
    return time.perf_counter() - t0


def simulated_round(cfg: RunConfig) -> tuple[float, float]:
    """(seconds of the second round, total wall seconds) of a real 2-round simulation."""
    t0 = time.perf_counter()
    res = fedflm.simulate(cfg)
    rows = res.metrics
    return rows[2]["elapsed_s"] - rows[1]["elapsed_s"], time.perf_counter() - t0


def main() -> None:
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4 if quick else 10)
    ap.add_argument("--samples", type=int, default=32 if quick else 64)
    ap.add_argument("--many-clients", type=int, default=100)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fedflm-bench-sim-"))
    base = {"dataset": "sst2", "partition": "iid", "samples_per_client": args.samples,
            "eval_samples": 200, "dp": "none", "rounds": 2, "seed": 0}
    cfg = RunConfig.from_flat({**base, "clients": args.clients, "out": str(tmp / "sim")})
    plain = plain_round(cfg)
    sim_round, sim_total = simulated_round(cfg)
    many = RunConfig.from_flat({**base, "clients": args.many_clients, "rounds": 1,
                                "samples_per_client": 8, "out": str(tmp / "many")})
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        fedflm.simulate(many)
        many_wall = time.perf_counter() - t0
    figures = {
        "threads": torch.get_num_threads(), "clients": args.clients, "samples_per_client": args.samples,
        "plain_round_s": round(plain, 2), "simulated_round_s": round(sim_round, 2),
        "round_overhead_ratio": round(sim_round / plain, 3), "simulation_total_s": round(sim_total, 1),
        "many_clients": args.many_clients, "many_clients_wall_s": round(many_wall, 1),
        "many_clients_peak_rss_gb": round(rss.peak / 2**30, 3),
    }
    print(f"one round, {args.clients} clients x {args.samples} SST-2 rows + global eval:")
    print(f"  plain loop      {plain:8.2f} s")
    print(f"  simulated round {sim_round:8.2f} s   ratio {sim_round / plain:.3f}x (target <= 1.15x)")
    print(f"{args.many_clients}-client simulation: peak RSS {rss.peak / 2**30:.2f} GB "
          f"(target <= 4 GB), wall {many_wall:.0f} s")
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()

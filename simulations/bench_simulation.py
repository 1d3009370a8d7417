"""Benchmark: the Simulation Engine's overhead, and how a simulation scales with the owners that exist.

1. One simulated round (Flower + Ray, 10 clients, the real ServerApp/ClientApp) vs a plain
   Python loop doing the same work in one process: the same partitions, the same round module
   (the client's train mode and frozen-feature cache), the same global evaluation; the second
   round of each is timed (caches warm in both). Goal: simulated / plain <= 1.10x.
2. Many owners (issue 24): peak RSS (this process and all its descendants: the Ray head,
   raylet and workers; sampled every 0.2 s) and seconds per round (rounds 2.. of the run) at
   100, 300 and 1,000 owners with --fraction-train 0.02-0.1, each in a fresh process, and the
   same for 10 owners all sampled. Goals: 1,000 owners peak RSS <= 4 GB on 2 cores; seconds per
   round within 1.2x of 10 sampled out of 10 (for the sizes that sample 10 per round). CPU seconds
   per round (the process tree's user + system time) are printed beside the wall seconds: on a
   shared CPU the wall time grows with the other jobs' load, the CPU time does not.

Prints a table, then `BENCH_JSON {...}` last (flat: each run's figures prefixed
``o{owners}_f{fraction}_``, part 1's ``ratio_``), with the load average before and after (the CPU may
be shared); ``--record PATH`` also writes them as a benchmark record (commit, machine, command) that
``simulations/make_results.py`` lists in RESULTS.md. Run under `nice` with `RAY_worker_niceness` set when the machine is shared:

    RAY_worker_niceness=15 nice -n 15 python simulations/bench_simulation.py
    python simulations/bench_simulation.py --scale 100:0.1,1000:0.01 --skip-ratio   # part 2 only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")

import psutil  # noqa: E402

#: The work of every run here: real LoRA steps on MiniLM (small, so that the engine's own cost shows).
BASE = {"dataset": "sst2", "partition": "iid", "eval_samples": 200, "dp": "none", "seed": 0,
        "train_mode": "lora", "local_steps": 5, "batch_size": 16}


class TreeMonitor:
    """Samples this process and all its descendants (a local Ray instance's head, raylet and workers
    are children of the driver; other users' Ray processes are not) every 0.2 s: the peak of their
    summed RSS, and their summed CPU seconds (user + system, with what each has reaped of its exited
    children) each time ``metrics.jsonl`` gains a round. CPU seconds per round do not grow when other
    jobs share the CPU; wall seconds do."""

    def __init__(self, metrics: Path, cluster_dir: str = "", interval: float = 0.2) -> None:
        self.metrics, self.interval, self.peak, self._stop = metrics, interval, 0, threading.Event()
        self.cluster_dir = cluster_dir  # with --ray-address: that cluster's processes (and theirs) count too
        self.cpu_at_row: list[float] = []  # CPU seconds of the tree when row i of metrics.jsonl appeared
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _procs(self) -> list[psutil.Process]:
        roots = [psutil.Process()]
        if self.cluster_dir:
            roots += [p for p in psutil.process_iter(["cmdline"])
                      if any(self.cluster_dir in a for a in (p.info["cmdline"] or []))]
        found: dict[int, psutil.Process] = {}
        for root in roots:
            try:
                found.update({p.pid: p for p in [root] + root.children(recursive=True)})
            except psutil.Error:
                pass
        return list(found.values())

    def _totals(self) -> tuple[int, float]:
        rss, cpu = 0, 0.0
        for p in self._procs():
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return rss, cpu

    def _rows(self) -> int:
        try:
            return sum(1 for line in self.metrics.read_text().splitlines() if line.strip())
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, cpu = self._totals()
            self.peak = max(self.peak, rss)
            while len(self.cpu_at_row) < self._rows():
                self.cpu_at_row.append(cpu)
            time.sleep(self.interval)

    def cpu_per_round(self) -> float | None:
        """Mean CPU seconds of rounds 2.. (rows 0 and 1: the initial evaluation and round 1)."""
        marks = self.cpu_at_row
        return (marks[-1] - marks[1]) / (len(marks) - 2) if len(marks) > 2 else None

    def __enter__(self) -> "TreeMonitor":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def plain_rounds(cfg: Any) -> float:
    """Seconds of the second of two rounds without Flower/Ray: every client trains what the
    ClientApp trains (its round module, its owner cache), then the server's global evaluation."""
    from fedflm.fl.client_data import federated_data, lazy_partitions
    from fedflm.models.lora import (build_model, get_adapter_state, load_tokenizer, pooled_classifier,
                                    resolve_device, set_adapter_state)
    from fedflm.train.batching import TokenizedDataset
    from fedflm.train.cache import FrozenCache
    from fedflm.train.local import evaluate, train_local
    from fedflm.train.plan import eval_module, owner_cache, round_module

    data = federated_data(cfg.data, cfg.fed.seed)
    parts = lazy_partitions(cfg.data, cfg.fed.clients, cfg.fed.seed)
    model = build_model(cfg.model, data.label_names, cfg.fed.seed)
    tok = load_tokenizer(cfg.model)
    device = resolve_device(cfg.model.device)
    owners = [TokenizedDataset(parts[i], tok, cfg.data.max_length) for i in range(cfg.fed.clients)]
    eval_data = TokenizedDataset(data.eval, tok, cfg.data.max_length)
    eval_cache = FrozenCache(pooled_classifier(model), eval_data, device)
    state = get_adapter_state(model)
    seconds = 0.0
    for server_round in (1, 2):
        t0 = time.perf_counter()
        for pid, owned in enumerate(owners):
            set_adapter_state(model, state)
            cache = owner_cache(model, owned, device, ("plain", pid))
            module, loader, _ = round_module(model, owned, cfg, server_round,
                                             cfg.fed.round_seed(server_round, pid), cache)
            train_local(module, loader, cfg.train, device)
        module, loader = eval_module(model, eval_data, cfg, eval_cache)
        evaluate(module, loader, device, len(data.label_names))
        seconds = time.perf_counter() - t0
    return seconds


def seconds_per_round(metrics: list[dict[str, Any]]) -> float:
    """Mean wall seconds of rounds 2.. (round 1 also starts the workers and loads the model)."""
    elapsed = [r["elapsed_s"] for r in metrics]
    steps = [b - a for a, b in zip(elapsed[1:], elapsed[2:])]
    return sum(steps) / len(steps)


def one_run(owners: int, fraction: float, samples: int, rounds: int, cluster: str = "",
            cluster_dir: str = "") -> dict[str, Any]:
    """One simulation in this (fresh) process: peak RSS, seconds per round, clients per round."""
    import fedflm
    from fedflm.config import RunConfig
    from fedflm.fl.resources import SimResources

    out = Path(tempfile.mkdtemp(prefix="fedflm-bench-scale-"))
    cfg = RunConfig.from_flat({**BASE, "clients": owners, "fraction_train": fraction, "min_clients": 1,
                               "samples_per_client": samples, "rounds": rounds, "out": str(out / "run")})
    with TreeMonitor(out / "run" / "metrics.jsonl", cluster_dir) as rss:
        t0 = time.perf_counter()
        res = fedflm.simulate(cfg, resources=SimResources(ray_address=cluster))
        wall = time.perf_counter() - t0
    return {"owners": owners, "fraction_train": fraction, "sampled_per_round": res.metrics[-1]["clients_ok"],
            "samples_per_client": samples, "rounds": rounds, "peak_rss_gb": round(rss.peak / 2**30, 3),
            "s_per_round": round(seconds_per_round(res.metrics), 2), "wall_s": round(wall, 1),
            "cpu_s_per_round": round(rss.cpu_per_round() or float("nan"), 2),
            "client_worker_peak_rss_mb": round((res.summary["simulation"]["client_worker_peak_rss_bytes"] or 0)
                                               / 2**20, 1)}


def ratio_part(clients: int, samples: int) -> dict[str, Any]:
    """Part 1: a simulated round vs the plain loop, side by side in this process."""
    import fedflm
    from fedflm.config import RunConfig

    tmp = Path(tempfile.mkdtemp(prefix="fedflm-bench-sim-"))
    cfg = RunConfig.from_flat({**BASE, "clients": clients, "samples_per_client": samples, "rounds": 2,
                               "out": str(tmp / "sim")})
    plain = plain_rounds(cfg)
    res = fedflm.simulate(cfg)
    sim = res.metrics[2]["elapsed_s"] - res.metrics[1]["elapsed_s"]
    return {"clients": clients, "samples_per_client": samples, "plain_round_s": round(plain, 2),
            "simulated_round_s": round(sim, 2), "round_overhead_ratio": round(sim / plain, 3)}


def _child(owners: int, fraction: float, samples: int, rounds: int, cluster: str, cluster_dir: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", f"{owners}:{fraction}", "--samples-many", str(samples),
           "--rounds", str(rounds), "--ray-address", cluster, "--ray-temp-dir", cluster_dir]
    for attempt in range(3):  # on a loaded CPU Ray's raylet may give up waiting for its agent at start-up
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if "timed out during startup" not in proc.stderr:
            break
        print(f"  ({owners}:{fraction}: Ray's node timed out during startup, attempt {attempt + 1} of 3)", flush=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("ONE_JSON ")), None)
    if line is None:
        raise SystemExit(f"run {owners}:{fraction} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[len("ONE_JSON "):])


def flat_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures as the benchmark convention wants them (fedflm/report/benchtable.py): one flat object;
    each part-2 run's figures prefixed ``o{owners}_f{fraction}_``, part 1's ``ratio_``."""
    out: dict[str, Any] = {"cpus": figures["cpus"], "load_before_1m": figures["load_before"][0],
                           "load_after_1m": figures["load_after"][0]}
    for run in figures.get("scale", []):
        prefix = f"o{run['owners']}_f{run['fraction_train']:g}_"
        out.update({prefix + k: v for k, v in run.items() if k not in ("owners", "fraction_train")})
    out.update({f"ratio_{k}": v for k, v in figures.get("ratio", {}).items()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10, help="clients of part 1 (all sampled)")
    ap.add_argument("--samples", type=int, default=32, help="rows per client in part 1")
    ap.add_argument("--scale", default="10:1.0,1000:0.01,100:0.1,300:0.0334,1000:0.02",
                    help="OWNERS:FRACTION runs of part 2, in this order (the first is the baseline)")
    ap.add_argument("--samples-many", type=int, default=8, help="rows per owner in part 2")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of each part-2 run")
    ap.add_argument("--skip-ratio", action="store_true", help="part 2 only")
    ap.add_argument("--ray-address", default="", help="run part 2 on this running Ray cluster (one Ray start "
                    "for all runs: on a loaded CPU a private Ray's start-up can time out)")
    ap.add_argument("--ray-temp-dir", default="", help="with --ray-address: that cluster's --temp-dir, whose "
                    "processes' memory and CPU time are counted with this process tree's")
    ap.add_argument("--record", type=Path, default=None,
                    help="also save the figures as a benchmark record (simulations/results/bench/NAME.json) "
                         "for RESULTS.md")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # OWNERS:FRACTION: one part-2 run in this process
    args = ap.parse_args()
    if args.one:
        owners, fraction = args.one.split(":")
        print("ONE_JSON " + json.dumps(one_run(int(owners), float(fraction), args.samples_many, args.rounds,
                                                     args.ray_address, args.ray_temp_dir)))
        return
    t0, load_before = time.perf_counter(), os.getloadavg()
    figures: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load_before]}
    print(f"part 2, {args.samples_many} rows per owner, {args.rounds} rounds, s/round = mean of rounds 2..", flush=True)
    print(f"  {'owners':>7}{'fraction':>10}{'sampled':>9}{'peak RSS GB':>13}{'s/round':>9}{'x base':>8}"
          f"{'CPU s/round':>13}{'x base':>8}{'s/round/sampled':>17}", flush=True)
    runs: list[dict[str, Any]] = []
    for item in args.scale.split(","):  # one at a time, each printed as soon as it ends
        owners, fraction = item.split(":")
        run = _child(int(owners), float(fraction), args.samples_many, args.rounds, args.ray_address,
                     args.ray_temp_dir)
        base = (runs or [run])[0]
        run["s_per_round_vs_base"] = round(run["s_per_round"] / base["s_per_round"], 3)
        run["cpu_s_per_round_vs_base"] = round(run["cpu_s_per_round"] / base["cpu_s_per_round"], 3)
        runs.append(run)
        per = run["s_per_round"] / max(1, run["sampled_per_round"])
        print(f"  {run['owners']:>7}{run['fraction_train']:>10.4g}{run['sampled_per_round']:>9}"
              f"{run['peak_rss_gb']:>13.2f}{run['s_per_round']:>9.2f}{run['s_per_round_vs_base']:>8.2f}"
              f"{run['cpu_s_per_round']:>13.2f}{run['cpu_s_per_round_vs_base']:>8.2f}{per:>17.3f}"
              f"   (load {os.getloadavg()[0]:.1f})", flush=True)
    figures["scale"] = runs
    if not args.skip_ratio:
        figures["ratio"] = r = ratio_part(args.clients, args.samples)
        print(f"part 1, one round, {r['clients']} clients x {r['samples_per_client']} SST-2 rows (LoRA, "
              f"{BASE['local_steps']} steps) + global eval: plain {r['plain_round_s']:.2f} s, simulated "
              f"{r['simulated_round_s']:.2f} s, ratio {r['round_overhead_ratio']:.3f}x (goal <= 1.10x)", flush=True)
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(f"load average before {figures['load_before']}, after {figures['load_after']} ({os.cpu_count()} CPUs)")
    flat = flat_figures(figures)
    print("BENCH_JSON " + json.dumps(flat))
    if args.record:
        from fedflm.report.benchtable import write_bench_record

        write_bench_record(args.record, "simulation", flat, round(time.perf_counter() - t0, 1), quick=False,
                           command="python simulations/bench_simulation.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()

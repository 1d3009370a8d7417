"""Loopback deployment vs simulation: wall time per round and bytes per client per round.

    python simulations/bench_deploy.py                    # MiniLM, 3 clients, 3 rounds
    python simulations/bench_deploy.py --model PATH --rounds 2 --samples 32
    python simulations/bench_deploy.py --modes warm       # skip the per-message deployment

Deployment is measured twice: ``per-message`` (Flower's default: a fresh
ClientApp process per message imports torch, loads the model, decrypts the
store) and ``warm`` (what ``fedflm client start`` does: each owner keeps one
warm trainer process, fedflm/deploy/warm.py; the per-message ClientApp only
forwards). The goal is warm within 1.5x of the simulation per round.

The deployment is the real thing on 127.0.0.1: `fedflm certs`, a SuperLink
with TLS + SuperNode authentication, one SuperNode per owner reading an
encrypted store, all separate processes. The simulation is `fedflm.simulate`
on the same partitions (Flower's Simulation Engine). Both train the same
config; wall time per round is the mean difference of the server's
``elapsed_s`` between consecutive global evaluations (round 1 onwards).

Bytes on the wire per client per round: the TCP payload both ways (TLS +
HTTP + Flower framing included) of every connection a SuperNode process holds
to the SuperLink port, sampled from the kernel's tcp_info (``ss -tinp``)
every 0.25 s; connections closed between two samples lose at most 0.25 s of
traffic (an undercount). The simulation has no wire: its figure is the
serialized adapter payload (``bytes_up``, one way) for comparison.
Prints ``BENCH_JSON {...}`` last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.config import RunConfig  # noqa: E402
from fedflm.deploy.certs import make_certs  # noqa: E402
from fedflm.deploy.client import ClientOptions, start_client  # noqa: E402
from fedflm.deploy.node_supervisor import NodeSupervisor  # noqa: E402
from fedflm.deploy.procs import free_port  # noqa: E402
from fedflm.deploy.server import ServerOptions, ServerRun  # noqa: E402
from fedflm.fl.client_data import client_partition  # noqa: E402
from fedflm.protect.keys import write_key_file  # noqa: E402
from fedflm.protect.store import StoreWriter  # noqa: E402

_CONN = re.compile(r"^\S+\s+\S+\s+(\S+)\s+(\S+)\s+users:\(\(.*?pid=(\d+)")
_BYTES = re.compile(r"bytes_(sent|received):(\d+)")


class WireMeter(threading.Thread):
    """Polls tcp_info of the SuperNodes' connections to the SuperLink port."""

    def __init__(self, port: int, pids: set[int], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.port, self.pids, self.every = port, pids, every
        self.conns: dict[str, int] = {}  # local address -> max bytes sent + received seen
        self.done = threading.Event()

    def _tree_pids(self) -> set[int]:
        """The given processes and their descendants (the SuperNode runs under a lifeline)."""
        pids = set(self.pids)
        for pid in self.pids:
            try:
                pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
            except psutil.Error:
                pass
        return pids

    def sample(self) -> None:
        pids = self._tree_pids()
        out = subprocess.run(["ss", "-tinpH", "state", "established", f"( dport = :{self.port} )"],
                             capture_output=True, text=True).stdout.splitlines()
        for head, info in zip(out[::2], out[1::2]):
            m = _CONN.match(head.strip())
            if not m or int(m.group(3)) not in pids:
                continue
            total = sum(int(v) for _, v in _BYTES.findall(info))
            self.conns[m.group(1)] = max(self.conns.get(m.group(1), 0), total)

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            time.sleep(self.every)

    def total(self) -> int:
        return sum(self.conns.values())


def _config(args: argparse.Namespace, out: Path) -> RunConfig:
    return RunConfig.from_flat({
        "dataset": "sst2", "model": args.model, "clients": args.clients, "min_clients": args.clients,
        "rounds": args.rounds, "samples_per_client": args.samples, "eval_samples": args.eval_samples,
        "partition": "iid", "batch_size": 16, "local_steps": args.local_steps, "max_length": 64,
        "dp": args.dp, "seed": 1, "out": str(out), "device": "cpu"})


def _per_round(rows: list[dict]) -> float:
    t = [r["elapsed_s"] for r in rows]
    return (t[-1] - t[0]) / (len(t) - 1)


def run_deployment(args: argparse.Namespace, tmp: Path, mode: str) -> dict:
    names = [f"owner-{i}" for i in range(args.clients)]
    if not (tmp / "pki").exists():
        make_certs(tmp / "pki", "127.0.0.1", names)
    cfg = _config(args, tmp / f"deploy-run-{mode}")
    procs, nodes, t0 = [], [], time.perf_counter()
    run = ServerRun(cfg, ServerOptions(port=free_port(), certs=tmp / "pki",
                                       authorized_keys=(tmp / "pki" / "nodes",)), say=lambda s: None)
    try:
        run.start()
        for i, name in enumerate(names):
            if not (tmp / f"{name}.store").exists():  # the same owners' stores for every mode
                ds, labels = client_partition(cfg.data, i, args.clients, cfg.fed.seed)
                key = write_key_file(tmp / f"{name}.key")
                with StoreWriter(tmp / f"{name}.store", key, list(labels)) as w:
                    w.add(list(ds["text"]), list(ds["label"]))
                    w.commit()
            opts = ClientOptions(
                server=run.address, store=tmp / f"{name}.store", key_file=tmp / f"{name}.key",
                state_dir=tmp / f"state-{mode}" / name, owner_id=name, ca_cert=tmp / "pki" / "ca.pem",
                auth_key=tmp / "pki" / "nodes" / f"{name}.key")
            if mode == "warm":
                nodes.append(NodeSupervisor(opts, say=lambda s: None))
                procs.append(nodes[-1].start_background())
            else:
                procs.append(start_client(opts, tmp / f"{name}-{mode}.log"))
        meter = WireMeter(run.opts.port, {p.pid for p in procs})
        meter.start()
        run.submit()
        status = run.wait(timeout=args.timeout)
        meter.done.set()
        meter.join()
    finally:
        run.stop()
        for p in procs:
            p.stop()
        for node in nodes:
            node.stop()
    if status != "complete":
        raise SystemExit(f"deployment run ({mode}) ended {status}; see {run.work}")
    rows = [json.loads(x) for x in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    key = mode.replace("-", "_")
    return {f"deploy_{key}_s_per_round": _per_round(rows), f"deploy_{key}_total_s": time.perf_counter() - t0,
            f"deploy_{key}_wire_bytes_per_client_round": meter.total() / (args.clients * args.rounds),
            "payload_bytes_per_client_round": rows[-1]["bytes_up"] / args.clients,
            f"deploy_{key}_final_accuracy": rows[-1]["accuracy"]}


def run_simulation(args: argparse.Namespace, tmp: Path) -> dict:
    from fedflm.api import simulate

    t0 = time.perf_counter()
    res = simulate(_config(args, tmp / "sim-run"))
    return {"sim_s_per_round": _per_round(res.metrics), "sim_total_s": time.perf_counter() - t0,
            "sim_payload_bytes_per_client_round": res.metrics[-1]["bytes_up"] / args.clients,
            "sim_final_accuracy": res.metrics[-1]["accuracy"]}


def main() -> None:
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="minilm")
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2 if quick else 3)
    p.add_argument("--samples", type=int, default=64, help="examples per client")
    p.add_argument("--eval-samples", type=int, default=200)
    p.add_argument("--local-steps", type=int, default=2)
    p.add_argument("--dp", default="sample")
    p.add_argument("--timeout", type=float, default=1200.0)
    p.add_argument("--modes", default="warm,per-message", help="deployments to measure (comma-separated)")
    args = p.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= {"per-message", "warm"}:
        raise SystemExit(f"--modes: per-message and/or warm, got {args.modes!r}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        for mode in modes:
            res.update(run_deployment(args, Path(tmp), mode))
            key = mode.replace("-", "_")
            print(f"deployment ({mode}): {res[f'deploy_{key}_s_per_round']:.1f} s per round", flush=True)
        res.update(run_simulation(args, Path(tmp)))
    print(f"{args.clients} clients x {args.rounds} rounds, model {args.model}, {args.samples} examples/client, "
          f"{args.local_steps} local steps, dp {args.dp}, load average {os.getloadavg()[0]:.1f}")
    for mode in modes:
        key = mode.replace("-", "_")
        ratio = res[f"deploy_{key}_s_per_round"] / res["sim_s_per_round"]
        print(f"  wall time per round   deployment ({mode}) {res[f'deploy_{key}_s_per_round']:7.1f} s   "
              f"simulation {res['sim_s_per_round']:7.1f} s   ratio {ratio:.2f}x")
        res[f"deploy_{key}_over_sim"] = ratio
        print(f"  bytes per client per round   on the wire ({mode}, both ways, TLS) "
              f"{res[f'deploy_{key}_wire_bytes_per_client_round']:,.0f}   adapter payload (one way) "
              f"{res['payload_bytes_per_client_round']:,.0f}")
        print(f"  whole run incl. start-up   deployment ({mode}) {res[f'deploy_{key}_total_s']:.0f} s   "
              f"simulation {res['sim_total_s']:.0f} s")
    print("BENCH_JSON " + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}))


if __name__ == "__main__":
    main()

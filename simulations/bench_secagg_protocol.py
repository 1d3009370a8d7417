"""Benchmark (issue 21): what SecAgg+ itself costs per round, in one process (no Ray, no training).

Flower's SecAggPlusWorkflow and secaggplus_mod behind fedflm's strategy and mod
(fedflm/fl/secagg.py, fedflm/fl/secagg_client.py), over an in-process grid, with fixed
updates of the adapter's real sizes. It prints three things per size: the seconds per round with
secagg and without it (the plain mean of the same updates), the bytes each owner uploads, and the
largest error of the secure mean against the plain one. The protocol's extra time adds to every round
of a real federation; its three extra message round trips per owner are not in this figure (under the
Simulation Engine each is one more ClientApp call). `BENCH_JSON {...}` comes last.

    nice -n 15 python simulations/bench_secagg_protocol.py
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict

from fedflm.bench.local_grid import LocalGrid
from fedflm.config import RunConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg import SecAggFedAvg, quantisation_range
from fedflm.fl.secagg_client import secagg_mod

#: MiniLM (384 wide): the Banking77 head (head mode), and LoRA r=8 on q/v of 6 layers + that head
SIZES = {"head (banking77)": {"head.weight": (77, 384), "head.bias": (77,)},
         "lora r8 q/v + head": {**{f"l{i}.{m}.lora_{ab}": ((8, 384) if ab == "A" else (384, 8))
                                   for i in range(6) for m in ("q", "v") for ab in ("A", "B")},
                                "head.weight": (77, 384), "head.bias": (77,)}}


def _owner(delta: dict[str, np.ndarray]):
    def train(msg: Message, ctx):
        state = {k: v + delta[k] for k, v in from_record(msg.content["arrays"]).items()}
        return Message(RecordDict({"arrays": to_record(state), "metrics": MetricRecord({"dp-unit-weight": 1})}),
                       reply_to=msg)
    return lambda msg, ctx: secagg_mod(msg, ctx, train)


def measure(shapes: dict[str, tuple[int, ...]], owners: int, rounds: int, scale: float) -> dict[str, float]:
    rng = np.random.default_rng(0)
    initial = {k: (rng.standard_normal(s) * 0.05).astype(np.float32) for k, s in shapes.items()}
    deltas = [{k: (rng.standard_normal(s) * scale).astype(np.float32) for k, s in shapes.items()}
              for _ in range(owners)]
    cfg = RunConfig.from_flat({"clients": owners, "secagg": True})
    strategy = SecAggFedAvg(cfg, fraction_train=1.0, min_train_nodes=owners, min_available_nodes=owners)
    grid = LocalGrid({100 + i: _owner(d) for i, d in enumerate(deltas)})
    t0 = time.perf_counter()
    strategy.start(grid, to_record(initial), num_rounds=rounds, train_config=ConfigRecord({}))
    secure_s = (time.perf_counter() - t0) / rounds
    t0 = time.perf_counter()
    for _ in range(rounds):
        plain = {k: initial[k] + np.mean([d[k] for d in deltas], axis=0) for k in shapes}
    plain_s = (time.perf_counter() - t0) / rounds
    one = SecAggFedAvg(cfg, fraction_train=1.0, min_train_nodes=owners, min_available_nodes=owners)
    got = from_record(one.start(LocalGrid({100 + i: _owner(d) for i, d in enumerate(deltas)}), to_record(initial),
                                num_rounds=1, train_config=ConfigRecord({})).arrays)
    return {"owners": owners, "values": int(sum(np.prod(s) for s in shapes.values())),
            "secagg_s_per_round": round(secure_s, 3), "plain_s_per_round": round(plain_s, 5),
            "bytes_up_secagg": strategy.last_round["bytes_up"] // owners,
            "bytes_up_plain": int(sum(np.prod(s) for s in shapes.values()) * 4),
            "max_error": float(max(np.abs(got[k].astype(np.float64) - plain[k]).max() for k in shapes)),
            "quantisation_step": 2 * cfg.agg.secagg_clip / quantisation_range(owners)}


def main() -> None:
    from flwr.supercore.task_identity import TaskIdentity
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 7, 0, 0  # as in a ServerApp process
    load0, out = os.getloadavg(), []
    print("| adapter | owners | values | secagg s/round | plain s/round | bytes up/owner secagg | plain | "
          "max error | quant. step |\n|---|---|---|---|---|---|---|---|---|")
    for name, shapes in SIZES.items():
        for owners in (4, 10):
            r = {"adapter": name, **measure(shapes, owners, rounds=2, scale=1e-3)}
            out.append(r)
            print(f"| {name} | {owners} | {r['values']} | {r['secagg_s_per_round']} | {r['plain_s_per_round']} | "
                  f"{r['bytes_up_secagg']} | {r['bytes_up_plain']} | {r['max_error']:.2g} | "
                  f"{r['quantisation_step']:.2g} |")
    print("BENCH_JSON " + json.dumps({"rows": out, "loadavg_before": load0, "loadavg_after": os.getloadavg()}))


if __name__ == "__main__":
    main()

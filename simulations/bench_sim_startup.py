"""Benchmark (issue 19, suite time): where one tiny Ray simulation's start-up goes. Runs one simulation of
the test suite's ``sim_run_dp`` shape (tiny BERT, 2 owners, --prepare, DP-SGD, ROUNDS=2 by default) and
prints a wall timeline and the CPU seconds of each kind of process (Ray's gcs_server, raylet, agents,
idle workers, the ClientApp actors) and of the driver. CPU seconds are comparable on a shared machine;
wall seconds are not. Usage (repository root on PYTHONPATH):

    RAY_worker_niceness=15 nice -n 15 python simulations/bench_sim_startup.py


Polls every process that descends from this one (Ray's gcs_server, raylet, workers, ...) every 0.2 s and
keeps each pid's last cpu_times (user+sys), so that processes that exit before the end are still counted
(up to 0.2 s of their last CPU)."""
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
import psutil

T0 = time.perf_counter()
marks = []
def mark(what):
    marks.append((round(time.perf_counter() - T0, 2), what))

me = psutil.Process()
seen = {}   # pid -> (kind, cpu, first_seen, last_seen)
stop = threading.Event()
def kind_of(p):
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return "?"
    for k in ("gcs_server", "raylet", "dashboard", "log_monitor", "runtime_env", "monitor.py", "ray::ClientAppActor",
              "ray::IDLE", "default_worker.py", "ray::"):
        if k in cmd:
            return k
    return cmd[:60]
def poll():
    while not stop.is_set():
        now = time.perf_counter() - T0
        try:
            kids = me.children(recursive=True)
        except psutil.Error:
            kids = []
        for p in kids:
            try:
                t = p.cpu_times()
                cpu = t.user + t.system
                k = kind_of(p)
            except psutil.Error:
                continue
            old = seen.get(p.pid)
            seen[p.pid] = (k if (old is None or k != "?") else old[0], cpu, old[2] if old else now, now)
        stop.wait(0.2)
th = threading.Thread(target=poll, daemon=True); th.start()

mark("start")
import torch, transformers  # noqa
mark("driver imported torch+transformers")
import fedflm
mark("driver imported fedflm")
import ray
real_init = ray.init
def timed_init(*a, **k):
    mark("ray.init begin")
    r = real_init(*a, **k)
    mark("ray.init end")
    return r
ray.init = timed_init
import ray._private.worker as rw
rw.init = timed_init

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import build_tiny_bert
import gzip
from importlib import resources
path = resources.files("fedflm.data.builtin").joinpath("sst2_train.tsv.gz")
with gzip.open(str(path), "rt", encoding="utf-8") as fh:
    next(fh); rows = [line.rstrip("\n").rsplit("\t", 1)[0] for _, line in zip(range(3000), fh)]
tmp = Path(tempfile.mkdtemp(prefix="i19prof"))
model = build_tiny_bert(tmp / "tiny", rows)
mark("tiny model built")
rounds = int(os.environ.get("ROUNDS", "2"))
res = fedflm.simulate({
    "dataset": "sst2", "model": str(model), "clients": 2, "rounds": rounds, "partition": "iid",
    "samples_per_client": 48, "eval_samples": 64, "max_length": 32, "batch_size": 16, "prepare": True,
    "dp": "sample", "epsilon": 3.0, "out": str(tmp / "tiny-dp"), "seed": 5})
mark("simulate returned")
stop.set(); th.join()
t = me.cpu_times()
by = {}
for pid, (k, cpu, a, b) in seen.items():
    e = by.setdefault(k, [0, 0.0, []]); e[0] += 1; e[1] += cpu; e[2].append((round(a, 1), round(b, 1), round(cpu, 1)))
print("TIMELINE", json.dumps(marks))
print(f"driver cpu user+sys {t.user + t.system:.1f} s; children reaped {t.children_user + t.children_system:.1f} s")
for k, (n, cpu, spans) in sorted(by.items(), key=lambda kv: -kv[1][1]):
    print(f"{cpu:7.1f} s  x{n:<3} {k}   spans(first,last,cpu)={spans[:6]}")
summ = json.loads((res.run_dir / "summary.json").read_text())
print("summary total_wall_time_s", summ.get("total_wall_time_s"), "round times", [m.get("round_wall_s", m.get("wall_s")) for m in res.metrics])
import shutil; shutil.rmtree(tmp, ignore_errors=True)

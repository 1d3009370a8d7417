"""Who holds which records in a simulated causal-LM federation: a seeded shuffle, an IID split
among the owners, and the server's held-out records (``--eval-fraction`` or ``--eval-file``).
The launcher (plan, ``clients.json``), every simulated owner and the server derive the same split.
A deployed server reads only its own ``--eval-file`` (:func:`server_records`)."""

from __future__ import annotations

import random

from fedflm.causal.config import SYNTHETIC, CausalRunConfig
from fedflm.causal.records import LMRecord, read_records, synthetic_records
from fedflm.errors import DataError


def split_records(cfg: CausalRunConfig) -> tuple[list[list[LMRecord]], list[LMRecord]]:
    """(each owner's records, the server's held-out records)."""
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
    if len(records) < cfg.clients:
        raise DataError(f"{cfg.dataset}: {len(records)} training records for {cfg.clients} clients")
    return [records[i::cfg.clients] for i in range(cfg.clients)], held


def server_records(cfg: CausalRunConfig, deployed: bool) -> list[LMRecord]:
    """The server's held-out records: in simulation :func:`split_records`'s; in deployment its own ``eval_file``
    (all of it, or the first ``eval_samples``), since no owner's records ever reach the server."""
    if not deployed:
        return split_records(cfg)[1]
    if not cfg.eval_file:
        raise DataError("a deployed --task causal-lm run needs --eval-file: the server's own held-out records")
    held = read_records(cfg.eval_file)
    return held[:cfg.eval_samples] if cfg.eval_samples else held

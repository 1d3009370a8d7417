"""fedflm ServerApp: FedAvg over adapter tensors with a global evaluation every round.

Reads the run config (``context.run_config``: the same keys as ``fedflm
simulate`` and ``[tool.flwr.app.config]``), evaluates the global adapter on
the held-out set before round 1 and after every round, and writes the run
directory (metrics, per-client records, summary, final adapter).
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from fedflm.config import RunConfig, run_warnings
from fedflm.deploy import env
from fedflm.deploy.rounds import DeploymentSession, QuorumLost
from fedflm.fl.arrays import from_record, record_nbytes, to_record
from fedflm.fl.client_data import federated_data
from fedflm.fl.dp_server import BudgetStop, ClientLevelDP, ensure_run_id, epsilon_max, write_ledgers
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir, default_run_dir
from fedflm.fl.strategy import ProgressGrid, RecordingFedAvg
from fedflm.models.lora import (build_model, get_adapter_state, load_tokenizer, pooled_classifier,
                                resolve_device, save_adapter, set_adapter_state)
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache
from fedflm.train.plan import eval_module
from fedflm.train.local import evaluate
from fedflm.train.metrics import collapse_warning

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    run_server(grid, RunConfig.from_flat(dict(context.run_config)))


class GlobalEvaluator:
    """Evaluates the global adapter and appends one metrics row per round."""

    def __init__(self, cfg: RunConfig, rundir: RunDir, strategy: RecordingFedAvg) -> None:
        data = federated_data(cfg.data, cfg.fed.seed)
        self.label_names = data.label_names
        self.model = build_model(cfg.model, data.label_names, cfg.fed.seed)
        tok = load_tokenizer(cfg.model)
        self.eval_data = TokenizedDataset(data.eval, tok, cfg.data.max_length)
        self.device = resolve_device(cfg.model.device)
        self.cfg = cfg  # issue 15: the frozen part of the model is run once on the eval set
        self.cache = FrozenCache(pooled_classifier(self.model), self.eval_data, self.device)
        self.rundir, self.strategy, self.t0 = rundir, strategy, time.perf_counter()
        self.confusion: np.ndarray | None = None
        self.rows: list[dict[str, Any]] = []
        self.client_dp: ClientLevelDP | None = None  # set in --dp client mode

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        set_adapter_state(self.model, from_record(arrays))
        module, loader = eval_module(self.model, self.eval_data, self.cfg, self.cache)
        res = evaluate(module, loader, self.device, len(self.label_names))
        self.confusion = res.confusion
        row: dict[str, Any] = {"round": server_round, **res.metrics}
        last = self.strategy.last_round
        if server_round > 0 and last.get("round") == server_round:
            if "train-loss" in last["train"]:  # dp none only: under DP no exact loss leaves a client
                row["train_loss"] = last["train"]["train-loss"]
            row.update({k: last[k] for k in ("clients_ok", "clients_failed", "bytes_up")})
            self.record_clients(last)
            eps = self.client_dp.epsilon if self.client_dp is not None else epsilon_max(last["clients"])
            if eps is not None:
                row["epsilon_max"] = eps
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        reporter().round_done(row)
        return MetricRecord({k: float(v) for k, v in row.items()
                             if isinstance(v, (int, float)) and v is not None})

    def record_clients(self, last: dict[str, Any]) -> None:
        """Per-client rows of a round and the owners' ledger copies (RUN/ledgers/)."""
        for client_row in last["clients"]:
            self.rundir.append("client_metrics.jsonl", client_row)
        write_ledgers(self.rundir, {**last.get("ledgers", {}),
                                    **(self.client_dp.ledgers() if self.client_dp else {})})


def _collapse(evaluator: GlobalEvaluator) -> list[str]:
    """issue 15: flag a final model that predicts one class for every evaluation row."""
    if evaluator.confusion is None:
        return []
    text = collapse_warning(evaluator.confusion, evaluator.label_names)
    return [text] if text else []


def run_server(grid: Grid, cfg: RunConfig) -> Path:
    """Run the whole federation; returns the run directory."""
    random.seed(cfg.fed.seed)  # Flower samples nodes with the global `random`
    torch.manual_seed(cfg.fed.seed)
    if cfg.privacy.dp != "none":
        cfg = ensure_run_id(cfg)  # the run's id in every owner's privacy ledger
    rundir = RunDir.create(Path(cfg.fed.out) if cfg.fed.out else default_run_dir(), cfg)
    try:
        return _federate(ProgressGrid(grid), cfg, rundir)
    except BaseException as exc:
        rundir.fail(f"{type(exc).__name__}: {exc}")
        raise


def _transport(session: DeploymentSession | None) -> str:
    """How updates travelled: "simulation" (in one machine's memory), or "tls" / "insecure" as
    ``fedflm server start`` set it (``flwr run`` against another SuperLink: "unknown")."""
    return "simulation" if session is None else os.environ.get(env.TRANSPORT, "unknown")


def _continued(cfg: RunConfig, evaluator: GlobalEvaluator, initial: dict, rundir: RunDir) -> dict:
    from fedflm.models.init_from import continued_state, describe, read_prior

    prior = read_prior(cfg.fed.init_from)
    state = continued_state(prior, initial, evaluator.label_names, cfg.fed.allow_new_labels, cfg.model.model)
    rundir.write_json("init_from.json", describe(prior, evaluator.label_names))
    return state


def _explained_examples(cfg: RunConfig, evaluator: GlobalEvaluator, rundir: RunDir, n: int = 3) -> None:
    """issue 23: RUN/explanations.json, a few explained examples of the server's OWN evaluation set for the
    report (skipped without Captum; a failure here never fails a finished run)."""
    from fedflm.export.explain import run_examples

    try:
        texts = list(federated_data(cfg.data, cfg.fed.seed).eval["text"][:n])
        found = run_examples(evaluator.model.cpu(), load_tokenizer(cfg.model), texts, evaluator.label_names,
                             cfg.data.max_length)
    except Exception as exc:  # the examples are a convenience; the run directory is the record
        reporter().message(f"explained examples not written: {type(exc).__name__}: {exc}")
        return
    if found is not None:
        rundir.write_json("explanations.json", found)


def _federate(grid: ProgressGrid, cfg: RunConfig, rundir: RunDir) -> Path:
    n_min = min(cfg.fed.min_clients, cfg.fed.clients)
    # under DP the owners send no exact example count: FedAvg weights are uniform
    weight_key = "num-examples" if cfg.privacy.dp == "none" else "dp-unit-weight"
    # client-level DP samples clients itself (Poisson, in ClientLevelDP): the inner FedAvg offers every node
    fraction = 1.0 if cfg.privacy.dp == "client" else cfg.fed.fraction_train
    strategy = RecordingFedAvg(fraction_train=fraction, fraction_evaluate=0.0,
                               min_train_nodes=n_min, min_available_nodes=n_min,
                               weighted_by_key=weight_key)
    evaluator = GlobalEvaluator(cfg, rundir, strategy)
    runner: Any = strategy
    if cfg.privacy.dp == "client":  # Flower's client-level DP wrapper + our accountant
        runner = evaluator.client_dp = ClientLevelDP(strategy, cfg, cfg.fed.sampled_clients())
    initial = get_adapter_state(evaluator.model)
    if cfg.fed.init_from:  # issue 23: continue from a finished run's global adapter (labels matched by name)
        initial = _continued(cfg, evaluator, initial, rundir)
    evaluate_fn: Any = evaluator
    num_rounds = cfg.fed.rounds
    session = DeploymentSession.from_env(cfg, rundir.path)  # None in simulation
    if session is not None:  # quorum / skipped rounds, encrypted checkpoints, --resume
        initial = session.restore(evaluator, initial)
        runner, evaluate_fn, num_rounds = session.wrap(runner, evaluator)
    reporter().start(cfg.fed.rounds, cfg.fed.clients)
    stopped = None
    try:
        result = runner.start(grid=grid, initial_arrays=to_record(initial),
                              num_rounds=num_rounds, timeout=cfg.fed.round_timeout,
                              train_config=ConfigRecord(cfg.to_run_config()),
                              evaluate_fn=evaluate_fn)
        final = from_record(result.arrays) if len(result.arrays) else initial
    except (BudgetStop, QuorumLost) as exc:  # too few clients (budgets, dropouts): end cleanly
        stopped = str(exc)
        reporter().message(stopped)
        last = strategy.last_round
        if evaluator.rows and last.get("round", 0) > evaluator.rows[-1]["round"]:
            evaluator.record_clients(last)
        final = get_adapter_state(evaluator.model)  # the last evaluated global model
    set_adapter_state(evaluator.model, final)
    save_adapter(evaluator.model, rundir.path / "adapter", evaluator.label_names)
    _explained_examples(cfg, evaluator, rundir)
    rows = evaluator.rows
    rundir.write_json("summary.json", {
        "status": "incomplete" if stopped else "complete", "final": rows[-1], "rounds": cfg.fed.rounds,
        **({"stopped": stopped} if stopped else {}),
        "wall_time_s": rows[-1]["elapsed_s"], "bytes_per_client_per_round": record_nbytes(to_record(final)),
        "confusion_matrix": evaluator.confusion.tolist() if evaluator.confusion is not None else [],
        "label_names": list(evaluator.label_names),
        "transport": _transport(session),
        "warnings": run_warnings(cfg) + ([stopped] if stopped else [])
        + (session.warnings() if session is not None else [])
        + _collapse(evaluator)})
    rundir.complete()
    return rundir.path

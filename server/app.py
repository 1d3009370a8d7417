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

from fedflm.config import RunConfig
from fedflm.config_rules import run_warnings
from fedflm.data import leakage
from fedflm.deploy import env
from fedflm.deploy.rounds import DeploymentSession, QuorumLost
from fedflm.errors import ConfigError
from fedflm.fl.attack import MARKER as ATTACK_MARKER
from fedflm.fl.amplified import amplification_record
from fedflm.fl.arrays import from_record, record_nbytes, to_record
from fedflm.fl.client_data import federated_data
from fedflm.fl.dp_server import BudgetStop, ClientLevelDP, ensure_run_id, epsilon_max, write_ledgers
from fedflm.fl.progress import reporter
from fedflm.fl.rundir import RunDir, default_run_dir
from fedflm.fl.secagg import SecAggFedAvg
from fedflm.fl.selection import EarlyStop, Selector, split_validation
from fedflm.fl.strategy import ProgressGrid, Recording, build_strategy
from fedflm.models.lora import (build_model, get_adapter_state, head_linear, head_weight_key, load_tokenizer,
                                pooled_classifier, resolve_device, save_adapter, set_adapter_state, set_head)
from fedflm.privacy.participation import participation_rate
from fedflm.privacy.prototypes import prototype_head
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache
from fedflm.train.phases import phase_of_round
from fedflm.train.plan import evaluate_model
from fedflm.train.metrics import collapse_warning

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    values = dict(context.run_config)
    if values.get("task") == "causal-lm":  # issue 25: its own federation (server/causal_lm.py)
        from fedflm.causal.config import CausalRunConfig
        from server.causal_lm import run_causal_server
        run_causal_server(grid, CausalRunConfig.from_flat(values))
        return
    if values.get("task") == "recommend":  # issue 25 part 2: its own federation (server/recommend.py)
        from fedflm.recommend.config import RecommendRunConfig
        from server.recommend import run_recommend_server
        run_recommend_server(grid, RecommendRunConfig.from_flat(values))
        return
    run_server(grid, RunConfig.from_flat(values))


class GlobalEvaluator:
    """Evaluates the global adapter and appends one metrics row per round."""

    def __init__(self, cfg: RunConfig, rundir: RunDir, strategy: Recording) -> None:
        data = federated_data(cfg.data, cfg.fed.seed)
        self.label_names = data.label_names
        self.model = build_model(cfg.model, data.label_names, cfg.fed.seed)
        tok = load_tokenizer(cfg.model)
        test, val = split_validation(data.eval, cfg.data.val_fraction, cfg.fed.seed)  # issue 22
        self.eval_data = TokenizedDataset(test, tok, cfg.data.max_length, cfg.data.long_text)
        self.device = resolve_device(cfg.model.device)
        self.cfg = cfg  # issue 15: the frozen part of the model is run once on the eval set
        self.cache = FrozenCache(pooled_classifier(self.model), self.eval_data.model_rows(), self.device)
        val_data = None if val is None else TokenizedDataset(val, tok, cfg.data.max_length, cfg.data.long_text)
        self.val = None if val_data is None else _Validation(self, val_data)
        self.rundir, self.strategy, self.t0 = rundir, strategy, time.perf_counter()
        self.confusion: np.ndarray | None = None
        self.rows: list[dict[str, Any]] = []
        self.client_dp: ClientLevelDP | None = None  # set in --dp client mode
        self.client_rows: list[dict[str, Any]] = []  # issue 22: for the leakage report

    def __call__(self, server_round: int, arrays: ArrayRecord) -> MetricRecord:
        set_adapter_state(self.model, from_record(arrays))
        res = evaluate_model(self.model, self.eval_data, self.cfg, self.cache, self.device, len(self.label_names))
        self.confusion = res.confusion
        row: dict[str, Any] = {"round": server_round, **res.metrics}
        last = self.strategy.last_round
        if server_round > 0 and last.get("round") == server_round:
            if "train-loss" in last["train"]:  # dp none only: under DP no exact loss leaves a client
                row["train_loss"] = last["train"]["train-loss"]
            row.update({k: last[k] for k in ("clients_ok", "clients_failed", "bytes_up")})
            if "robust" in last:  # issue 21: which clients the robust rule clipped or rejected
                row["robust"] = last["robust"]
            self.record_clients(last)
            eps = self.client_dp.epsilon if self.client_dp is not None else epsilon_max(last["clients"])
            if eps is not None:
                row["epsilon_max"] = eps
        stop = self.val is not None and self.val.score(server_round, arrays, row)
        row["elapsed_s"] = round(time.perf_counter() - self.t0, 3)
        self.rundir.append("metrics.jsonl", row)
        self.rows.append(row)
        reporter().round_done(row)
        if stop and server_round < self.cfg.fed.rounds:
            raise EarlyStop(f"early stop after round {server_round}: validation {self.cfg.fed.select_metric} "
                            f"has not improved for {self.cfg.fed.patience} rounds (best: round "
                            f"{self.val.selector.best_round})")
        return MetricRecord({k: float(v) for k, v in row.items()
                             if isinstance(v, (int, float)) and v is not None})

    def record_clients(self, last: dict[str, Any]) -> None:
        """Per-client rows of a round and the owners' ledger copies (RUN/ledgers/)."""
        for client_row in last["clients"]:
            self.rundir.append("client_metrics.jsonl", client_row)
        self.client_rows += last["clients"]
        if self.cfg.data.on_leakage != "off":  # issue 22: raises LeakageFound under --on-leakage fail
            leakage.summarise(self.cfg.data.on_leakage, last["clients"])
        write_ledgers(self.rundir, {**last.get("ledgers", {}),
                                    **(self.client_dp.ledgers() if self.client_dp else {})})


class _Validation:
    """issue 22: the validation split's metrics in every row, and the best round (fedflm/fl/selection.py)."""

    def __init__(self, evaluator: GlobalEvaluator, data: TokenizedDataset) -> None:
        self.evaluator, self.data = evaluator, data
        self.cache = FrozenCache(pooled_classifier(evaluator.model), data.model_rows(), evaluator.device)
        self.selector = Selector(evaluator.cfg.fed.select_metric, evaluator.cfg.fed.patience)

    def score(self, server_round: int, arrays: ArrayRecord, row: dict[str, Any]) -> bool:
        """Add ``val_*`` metrics to ``row``; True when patience has run out."""
        ev = self.evaluator
        metrics = evaluate_model(ev.model, self.data, ev.cfg, self.cache, ev.device, len(ev.label_names)).metrics
        row.update({f"val_{k}": v for k, v in metrics.items()})
        return self.selector.observe(server_round, metrics[ev.cfg.fed.select_metric], from_record(arrays))


def _select_best(evaluator: GlobalEvaluator, final: Any, stopped_early: bool) -> tuple[Any, dict[str, Any]]:
    """issue 22: with a validation split, the best round's adapter (set on the model), and the summary
    keys that report its test figures (``final``), the last round's (``last``) and the selection."""
    if evaluator.val is None:
        set_adapter_state(evaluator.model, final)
        return final, {}
    sel, rows = evaluator.val.selector, evaluator.rows
    final = sel.best_state if sel.best_state is not None else final
    set_adapter_state(evaluator.model, final)
    evaluator.confusion = evaluate_model(evaluator.model, evaluator.eval_data, evaluator.cfg, evaluator.cache,
                                         evaluator.device, len(evaluator.label_names)).confusion
    return final, {"selection": sel.summary(rows, evaluator.cfg.fed.rounds, stopped_early), "last": rows[-1],
                   "final": next((r for r in rows if r["round"] == sel.best_round), rows[-1])}


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


def _prototype_head(cfg: RunConfig, model: Any, label_names: tuple[str, ...]):
    """issue 15: after round 1 of a prototype run, the aggregate's head rows (the mean of the owners'
    class sums) become ``proto_scale`` x their direction, bias 0 (post-processing: no privacy cost);
    with ``name_prior`` > 0 mixed with the class names' own sentence vectors (public text)."""
    def post(server_round: int, arrays: ArrayRecord) -> ArrayRecord:
        if server_round != 1:
            return arrays
        set_adapter_state(model, from_record(arrays))
        prior = None
        if cfg.train.name_prior > 0:
            from fedflm.models.name_prior import name_vectors
            prior = name_vectors(pooled_classifier(model), load_tokenizer(cfg.model), label_names,
                                 cfg.data.max_length)
        head = prototype_head(head_linear(model).weight.detach(), cfg.train.proto_scale, prior,
                              cfg.train.name_prior)
        set_head(model, head["weight"], head["bias"])
        return to_record(get_adapter_state(model))
    return post


def _mark_attack(cfg: RunConfig, rundir: RunDir, deployed: bool) -> None:
    """issue 21: an attack is simulated only, and its run directory says so in a marker file."""
    if cfg.agg.attack == "none":
        return
    if deployed:
        raise ConfigError(f"--attack {cfg.agg.attack} is for simulation only; a deployed federation never attacks")
    text = next(w for w in run_warnings(cfg) if w.startswith("ATTACK SIMULATION"))
    (rundir.path / ATTACK_MARKER).write_text(text + "\n", encoding="utf-8")


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


def _train_config(cfg: RunConfig) -> ConfigRecord:
    """The request every round carries; with --on-leakage, also a fresh run key and the keyed hashes of
    the server's held-out set (issue 22, fedflm/data/leakage.py; the key is never written down)."""
    extra = {} if cfg.data.on_leakage == "off" else leakage.to_record(
        leakage.new_run_key(), federated_data(cfg.data, cfg.fed.seed).eval["text"])
    return ConfigRecord({**cfg.to_run_config(), **extra})


def _federate(grid: ProgressGrid, cfg: RunConfig, rundir: RunDir) -> Path:
    n_min = min(cfg.fed.min_clients, cfg.fed.clients)
    # under DP the owners send no exact example count: FedAvg weights are uniform
    weight_key = "num-examples" if cfg.privacy.dp == "none" else "dp-unit-weight"
    # client-level DP and --amplify-by-sampling sample clients themselves (secret Poisson): FedAvg offers every node
    poisson = cfg.privacy.dp == "client" or cfg.privacy.amplify_by_sampling
    fraction = 1.0 if poisson else cfg.fed.fraction_train
    strategy: Any
    if cfg.agg.secagg:  # issue 21: Flower's SecAgg+, the server sees only the sum (fedflm/fl/secagg.py)
        strategy = SecAggFedAvg(cfg, fraction_train=fraction, min_train_nodes=n_min, min_available_nodes=n_min)
    else:
        strategy = build_strategy(cfg.agg, fraction_train=fraction, fraction_evaluate=0.0,
                                  min_train_nodes=n_min, min_available_nodes=n_min,
                                  weighted_by_key=weight_key)
    if cfg.privacy.amplify_by_sampling:  # issue 24: each owner trains with probability p, secret coins
        strategy.poisson_rate = participation_rate(cfg)
    evaluator = GlobalEvaluator(cfg, rundir, strategy)
    if phase_of_round(cfg.train, cfg.fed.rounds, 1, cfg.privacy.dp, cfg.privacy.noise_multiplier is not None) == "proto":
        strategy.post_aggregate = _prototype_head(cfg, evaluator.model, evaluator.label_names)  # it loads each evaluated state anyway
        strategy.prototype_key = head_weight_key(evaluator.model)  # issue 21: what a robust rule's screen reads
    runner: Any = strategy
    if cfg.privacy.dp == "client":  # Flower's client-level DP wrapper + our accountant
        runner = evaluator.client_dp = ClientLevelDP(strategy, cfg, cfg.fed.sampled_clients())
    initial = get_adapter_state(evaluator.model)
    if cfg.fed.init_from:  # issue 23: continue from a finished run's global adapter (labels matched by name)
        initial = _continued(cfg, evaluator, initial, rundir)
    evaluate_fn: Any = evaluator
    num_rounds = cfg.fed.rounds
    session = DeploymentSession.from_env(cfg, rundir.path)  # None in simulation
    _mark_attack(cfg, rundir, deployed=session is not None)
    if session is not None:  # quorum / skipped rounds, encrypted checkpoints, --resume
        initial = session.restore(evaluator, initial)
        runner, evaluate_fn, num_rounds = session.wrap(runner, evaluator)
    reporter().start(cfg.fed.rounds, cfg.fed.clients)
    stopped, early = None, None
    try:
        result = runner.start(grid=grid, initial_arrays=to_record(initial),
                              num_rounds=num_rounds, timeout=cfg.fed.round_timeout,
                              train_config=_train_config(cfg),
                              evaluate_fn=evaluate_fn)
        final = from_record(result.arrays) if len(result.arrays) else initial
    except EarlyStop as exc:  # issue 22: on purpose; the run is complete
        early = str(exc)
        reporter().message(early)
        final = initial
    except (BudgetStop, QuorumLost) as exc:  # too few clients (budgets, dropouts): end cleanly
        stopped = str(exc)
        reporter().message(stopped)
        last = strategy.last_round
        if evaluator.rows and last.get("round", 0) > evaluator.rows[-1]["round"]:
            evaluator.record_clients(last)
        final = get_adapter_state(evaluator.model)  # the last evaluated global model
    rows = evaluator.rows
    final, selected = _select_best(evaluator, final, early is not None)
    save_adapter(evaluator.model, rundir.path / "adapter", evaluator.label_names)
    _explained_examples(cfg, evaluator, rundir)
    amplified = (amplification_record(rundir.path, cfg.privacy.ledger_run_id, participation_rate(cfg),
                                      int(rows[-1]["round"])) if cfg.privacy.amplify_by_sampling else None)
    rundir.write_json("summary.json", {
        "status": "incomplete" if stopped else "complete", "final": rows[-1], "rounds": cfg.fed.rounds,
        **({"stopped": stopped} if stopped else {}), **selected,
        "wall_time_s": rows[-1]["elapsed_s"], "bytes_per_client_per_round": record_nbytes(to_record(final)),
        "confusion_matrix": evaluator.confusion.tolist() if evaluator.confusion is not None else [],
        "label_names": list(evaluator.label_names),
        "transport": _transport(session),
        **({"amplification": amplified} if amplified is not None else {}),
        **({"leakage": leakage.summarise(cfg.data.on_leakage, evaluator.client_rows)}
           if cfg.data.on_leakage != "off" else {}),
        "warnings": run_warnings(cfg) + ([stopped] if stopped else [])
        + (session.warnings() if session is not None else [])
        + _collapse(evaluator)})
    rundir.complete()
    return rundir.path

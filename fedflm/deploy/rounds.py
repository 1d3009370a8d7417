"""Server-side rounds in a deployment: quorum, skipped rounds, checkpoints, resume.

:class:`DeploymentRounds` wraps the server's strategy (Flower's ``start``
loop is kept; this only decides around it):

* before sampling, wait up to the round timeout for ``min_clients`` connected
  nodes; if they do not come, the round is skipped and logged;
* a round in which fewer than ``min_clients`` clients replied with an update
  does not change the global model (skipped, logged); otherwise the aggregate
  is the wrapped strategy's (FedAvg over the replies that arrived before the
  timeout -- failed and missing clients are excluded);
* after ``max_skipped`` consecutive skipped rounds the run ends cleanly
  (:class:`QuorumLost`);
* rounds are numbered from the checkpoint's round after a resume (``offset``),
  and clients get a fresh ledger run id per resume (``RUN_ID.rN``) with the
  number of rounds left, so a round that a client trained but the server
  never aggregated stays counted in that client's budget (conservative) and
  no ledger round number is reused. The segment number ``N`` is persisted in
  ``RUN/segment.json`` (fsync'd) *before* any message is sent, so a crash in
  the first round after a resume never re-sends the same (run id, round):
  every resume gets a new one. (Owners' nodes also refuse a repeated
  (run, round) for that message only, whatever a server sends.)
* a checkpoint binds its run id: resuming from another run's checkpoint is refused.

:class:`DeploymentSession` reads its settings from the environment that
``fedflm server start`` gives the SuperLink (``FEDFLM_DEPLOYMENT``,
``FEDFLM_CHECKPOINT_KEY_FILE``, ``FEDFLM_RESUME``, ``FEDFLM_MAX_SKIPPED_ROUNDS``):
the checkpoint key never travels in the run config.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from fedflm.config import RunConfig
from fedflm.deploy import env
from fedflm.deploy.checkpoint import Checkpoint, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from fedflm.errors import ConfigError, FederationError
from fedflm.fl.arrays import from_record
from fedflm.fl.progress import reporter
from fedflm.io import write_atomic
from fedflm.protect.keys import DataKey, read_key_file

__all__ = ["QuorumLost", "DeploymentRounds", "DeploymentSession"]

log = logging.getLogger("fedflm.deploy")


class QuorumLost(FederationError):
    """Too few clients for too many rounds in a row: the run ends cleanly."""


def _notice(text: str) -> None:
    log.warning("%s", text)
    reporter().message(text)


class DeploymentRounds(Strategy):
    """Wraps a strategy: quorum wait, below-minimum skip, round offset, client config."""

    def __init__(self, inner: Strategy, *, min_clients: int, wait_s: float, max_skipped: int,
                 offset: int = 0, client_overrides: dict[str, Any] | None = None, skipped: int = 0,
                 poll_s: float = 1.0) -> None:
        self.inner, self.min_clients, self.wait_s, self.max_skipped = inner, min_clients, wait_s, max_skipped
        self.offset, self.overrides, self.skipped, self.poll_s = offset, client_overrides or {}, skipped, poll_s
        self.rounds_skipped: list[int] = []

    def _skip(self, server_round: int, why: str) -> None:
        self.skipped += 1
        self.rounds_skipped.append(server_round)
        _notice(f"round {server_round} skipped: {why} (consecutive skipped rounds: {self.skipped})")
        if self.skipped > self.max_skipped:
            raise QuorumLost(f"round {server_round}: fewer than min_clients={self.min_clients} clients for "
                             f"{self.skipped} rounds in a row (limit {self.max_skipped}); ending the run "
                             "with the last global model")

    def _wait_quorum(self, grid: Grid) -> int:
        end = time.monotonic() + self.wait_s
        while (n := len(list(grid.get_node_ids()))) < self.min_clients and time.monotonic() < end:
            time.sleep(self.poll_s)
        return n

    def _quorum_or_skip(self, grid: Grid, server_round: int) -> bool:
        """Wait for ``min_clients`` connected nodes; False (round ``server_round`` skipped) if they do not come."""
        connected = self._wait_quorum(grid)
        if connected < self.min_clients:
            self._skip(server_round, f"{connected} node(s) connected after {self.wait_s:.0f} s, "
                                     f"min_clients={self.min_clients}")
            return False
        return True

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        r = server_round + self.offset
        if not self._quorum_or_skip(grid, r):
            return []
        for k, v in self.overrides.items():
            config[k] = v
        return self.inner.configure_train(r, arrays, config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        r, replies = server_round + self.offset, list(replies)
        if not replies and self.rounds_skipped and self.rounds_skipped[-1] == r:
            return None, None  # skipped before sampling
        arrays, metrics = self.inner.aggregate_train(r, replies)
        ok = sum(1 for m in replies if not m.has_error())
        if ok < self.min_clients:
            self._skip(r, f"{ok} update(s) arrived before the timeout, min_clients={self.min_clients}; "
                          "the global model is unchanged")
            return None, metrics
        self.skipped = 0
        return arrays, metrics

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                           grid: Grid) -> Iterable[Message]:
        return self.inner.configure_evaluate(server_round + self.offset, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.inner.aggregate_evaluate(server_round + self.offset, replies)

    def summary(self) -> None:
        self.inner.summary()


class DeploymentSession:
    """The deployment side of one ServerApp run (None of this runs in simulation)."""

    def __init__(self, cfg: RunConfig, run_dir: Path, key: DataKey | None, resume: bool,
                 max_skipped: int) -> None:
        self.cfg, self.run_dir, self.key, self.resume, self.max_skipped = cfg, run_dir, key, resume, max_skipped
        self.restored: Checkpoint | None = None
        self.rounds: DeploymentRounds | None = None

    @classmethod
    def from_env(cls, cfg: RunConfig, run_dir: Path) -> DeploymentSession | None:
        if os.environ.get(env.DEPLOYMENT) != "1":
            return None
        key_file = os.environ.get(env.CHECKPOINT_KEY_FILE)
        key = read_key_file(key_file) if key_file else None
        resume = os.environ.get(env.RESUME) == "1"
        if resume and key is None:
            raise ConfigError("--resume needs the checkpoint key the run was started with")
        if resume and cfg.privacy.dp == "client":
            raise ConfigError("--resume is not supported with --dp client (its server-side ledger would "
                              "repeat the interrupted round)")
        try:
            max_skipped = int(os.environ.get(env.MAX_SKIPPED_ROUNDS, "3"))
        except ValueError:
            raise ConfigError(f"max skipped rounds must be an integer, got {os.environ[env.MAX_SKIPPED_ROUNDS]!r}") from None
        return cls(cfg, Path(run_dir), key, resume, max_skipped)

    def warnings(self) -> list[str]:
        """For summary.json: the rounds that did not change the global model."""
        skipped = self.rounds.rounds_skipped if self.rounds is not None else []
        return ([f"rounds skipped (fewer than min_clients clients; global model unchanged): {skipped}"]
                if skipped else [])

    def restore(self, evaluator: Any, initial: Any) -> Any:
        """On resume: metrics files, RNG and the global adapter from the checkpoint."""
        if not self.resume:
            return initial
        assert self.key is not None
        ckpt = self.restored = load_checkpoint(self.run_dir, self.key, run_id=self.cfg.privacy.run_id)
        evaluator.rows = list(ckpt.rows)
        for row in ckpt.rows:
            evaluator.rundir.append("metrics.jsonl", row)
        (self.run_dir / "client_metrics.jsonl").write_text(ckpt.client_rows_text)
        if ckpt.rows:
            evaluator.t0 -= float(ckpt.rows[-1].get("elapsed_s", 0.0))
        restore_rng(ckpt.rng)
        _notice(f"resuming from the checkpoint after round {ckpt.round} of {self.cfg.fed.rounds}")
        return ckpt.arrays

    def wrap(self, runner: Strategy, evaluator: Callable[[int, ArrayRecord], Any]
             ) -> tuple[DeploymentRounds, Callable[[int, ArrayRecord], Any], int]:
        """(strategy, evaluate_fn, rounds left) for ``runner.start``."""
        ck = self.restored
        offset = ck.round if ck else 0
        segment = next_segment(self.run_dir, self.cfg.privacy.run_id, ck.segment if ck else None)
        overrides: dict[str, Any] = {}
        if ck is not None:
            base = self.cfg.privacy.ledger_run_id
            overrides = {"run-id": f"{base}.r{segment}"[:128], "rounds": self.cfg.fed.rounds - offset}
        n_min = min(self.cfg.fed.min_clients, self.cfg.fed.clients)
        kind = DeploymentRounds
        if self.cfg.agg.secagg:  # issue 21: SecAgg+'s four-stage rounds under the same rules
            from fedflm.deploy.secagg_rounds import SecAggDeploymentRounds
            kind = SecAggDeploymentRounds
        rounds = kind(runner, min_clients=n_min, wait_s=self.cfg.fed.round_timeout,
                                  max_skipped=self.max_skipped, offset=offset, client_overrides=overrides,
                                  skipped=ck.skipped if ck else 0)
        self.rounds = rounds

        def evaluate_fn(server_round: int, arrays: ArrayRecord) -> Any:
            r = server_round + offset
            if server_round == 0 and offset > 0:
                return None  # round `offset` was evaluated before the crash
            res = evaluator(r, arrays)
            if self.key is not None:
                save_checkpoint(self.run_dir, Checkpoint(
                    r, from_record(arrays), list(getattr(evaluator, "rows", [])),
                    _read(self.run_dir / "client_metrics.jsonl"), capture_rng(),
                    self.cfg.privacy.run_id, segment, rounds.skipped), self.key)
            return res

        return rounds, evaluate_fn, self.cfg.fed.rounds - offset


SEGMENT_NAME = "segment.json"


def next_segment(run_dir: Path, run_id: str, checkpoint_segment: int | None) -> int:
    """The segment number of this server start, unique within the run and persisted (fsync'd)
    before it is used: 0 for a fresh run, else one more than any segment started before --
    the checkpoint's or a later one that crashed before it checkpointed."""
    path = Path(run_dir) / SEGMENT_NAME
    last = -1
    if path.exists():
        try:
            saved = json.loads(path.read_text())
            last = int(saved["segment"]) if saved.get("run_id") == run_id else -1
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{path}: not a segment record (edited?); refusing to reuse ledger run ids") from None
    segment = 0 if checkpoint_segment is None else max(last, checkpoint_segment) + 1
    write_atomic(path, json.dumps({"run_id": run_id, "segment": segment}))  # durable before any message is sent
    return segment


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""

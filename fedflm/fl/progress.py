"""Progress reporting from the ServerApp to whoever started the run.

The CLI installs a rich live display; notebooks and ``flwr run`` get plain
log lines. The ServerApp only ever calls the :class:`Reporter` methods.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger("fedflm")


class Reporter(Protocol):
    def start(self, rounds: int, clients: int) -> None: ...
    def client_done(self, server_round: int, done: int, total: int) -> None: ...
    def round_done(self, row: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...


class LogReporter:
    """Plain log lines (default)."""

    def start(self, rounds: int, clients: int) -> None:
        log.info("federation: %d rounds, %d clients", rounds, clients)

    def client_done(self, server_round: int, done: int, total: int) -> None:
        pass

    def round_done(self, row: dict[str, Any]) -> None:
        log.info("round %s: accuracy %.4f macro-F1 %.4f loss %.4f", row["round"],
                 row["accuracy"], row["macro_f1"], row["loss"])

    def message(self, text: str) -> None:
        log.warning(text)


_current: list[Reporter] = [LogReporter()]


def set_reporter(reporter: Reporter | None) -> None:
    _current[0] = reporter or LogReporter()


def reporter() -> Reporter:
    return _current[0]

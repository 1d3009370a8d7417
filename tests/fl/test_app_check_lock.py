"""Flower's app-reference check runs under fedflm's lock (CPython 3.11's AST constructor is not
thread-safe: python/cpython#106905)."""

from __future__ import annotations

import threading
from pathlib import Path

from flwr.supercore import object_ref

from fedflm.fl.app_check_lock import APP_CHECK_LOCK, serialize_app_checks

ROOT = Path(__file__).resolve().parents[2]


def test_the_check_holds_the_lock_and_still_finds_the_apps(monkeypatch) -> None:
    # Prepare: an unwrapped original that records whether the lock is held while it runs
    held: list[bool] = []
    real = object_ref._find_attribute_in_module
    real = getattr(real, "__wrapped__", real)

    def recording(file_path: str, attribute_name: str) -> bool:
        held.append(APP_CHECK_LOCK.locked())
        return real(file_path, attribute_name)

    monkeypatch.setattr(object_ref, "_find_attribute_in_module", recording)
    # Execute
    wrapped = serialize_app_checks() and serialize_app_checks()  # idempotent: wraps once
    found = [object_ref._find_attribute_in_module(str(ROOT / d / "app.py"), "app") for d in ("server", "clients")]
    missing = object_ref._find_attribute_in_module(str(ROOT / "server" / "app.py"), "no_such_app")
    # Assert
    assert wrapped and found == [True, True] and missing is False
    assert held == [True, True, True] and not APP_CHECK_LOCK.locked()
    assert object_ref._find_attribute_in_module.__wrapped__ is recording


def test_parallel_checks_run_one_at_a_time(monkeypatch) -> None:
    # Prepare: an original that notes how many calls overlap
    inside, peak, gate = [0], [0], threading.Barrier(4, timeout=5)

    def slow(file_path: str, attribute_name: str) -> bool:
        inside[0] += 1
        peak[0] = max(peak[0], inside[0])
        threading.Event().wait(0.02)
        inside[0] -= 1
        return True

    monkeypatch.setattr(object_ref, "_find_attribute_in_module", slow)
    serialize_app_checks()

    def call() -> None:
        gate.wait()
        for _ in range(5):
            object_ref._find_attribute_in_module("x.py", "app")

    threads = [threading.Thread(target=call) for _ in range(4)]
    # Execute
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert
    assert peak[0] == 1

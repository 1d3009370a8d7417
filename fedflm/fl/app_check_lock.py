"""One thread at a time in Flower's app-reference check during a simulation.

Flower's Simulation Engine checks ``server.app:app`` and ``clients.app:app`` from two
threads of the same process, and the check (``flwr.supercore.object_ref._find_attribute_in_module``)
runs ``ast.parse`` on the app's file. On CPython 3.11 the AST constructor keeps its
recursion depth per interpreter, not per thread, so two parses at once can fail with
``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905; seen once
in a sweep simulation on a loaded 2-core machine). :func:`serialize_app_checks` wraps that
one Flower function with a lock; nothing else of Flower's changes. If a Flower release
drops the function, nothing is wrapped (the check it guarded is gone too).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

__all__ = ["serialize_app_checks", "APP_CHECK_LOCK"]

APP_CHECK_LOCK = threading.Lock()
_NAME = "_find_attribute_in_module"


def serialize_app_checks() -> bool:
    """Wrap Flower's app-reference check with :data:`APP_CHECK_LOCK` (idempotent); True if it is wrapped."""
    from flwr.supercore import object_ref

    original: Callable[[str, str], bool] | None = getattr(object_ref, _NAME, None)
    if original is None:
        return False
    if getattr(original, "__fedflm_locked__", False):
        return True

    @functools.wraps(original)
    def locked(file_path: str, attribute_name: str) -> bool:
        with APP_CHECK_LOCK:
            return original(file_path, attribute_name)

    locked.__fedflm_locked__ = True  # type: ignore[attr-defined]
    setattr(object_ref, _NAME, locked)
    return True

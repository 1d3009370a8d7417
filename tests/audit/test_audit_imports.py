"""The ledger audit's independence, read from the source: it imports no training code.

An auditor must be able to verify ledgers and recompute epsilon without
running or trusting the code that trains. ``fedflm.audit.ledger`` and
``fedflm.audit.bounds`` may import only each other, ``fedflm.errors`` and
third-party libraries; this test reads every ``import`` with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AUDIT = Path(__file__).resolve().parents[2] / "fedflm" / "audit"
INDEPENDENT = ("ledger", "bounds")
ALLOWED = ("fedflm.audit.ledger", "fedflm.audit.bounds", "fedflm.errors")


def fedflm_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a fedflm module in ``path`` (relative imports resolved)."""
    package = ".".join(path.relative_to(AUDIT.parents[1]).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if not node.module else base) for a in node.names]
    return [(line, m) for line, m in found if m == "fedflm" or m.startswith("fedflm.")]


def _sources() -> list[Path]:
    return sorted(p for sub in INDEPENDENT for p in (AUDIT / sub).rglob("*.py"))


def test_independent_packages_exist() -> None:
    # Assert: the rule below must not pass vacuously
    names = {p.name for p in _sources()}
    assert {"read.py", "recompute.py", "audit.py", "one_run.py"} <= names


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(AUDIT)))
def test_ledger_audit_imports_no_training_code(path: Path) -> None:
    # Execute
    bad = [(line, m) for line, m in fedflm_imports(path) if not m.startswith(ALLOWED)]
    # Assert
    assert bad == [], f"{path} imports outside {ALLOWED}: {bad}"


def test_the_import_reader_sees_forbidden_imports(tmp_path: Path) -> None:
    # Prepare: a file inside the audit tree with each form of import
    probe = AUDIT / "ledger" / "_probe_for_test.py"
    probe.write_text("import fedflm.privacy.dp\nfrom fedflm.train import local\nfrom .. import empirical\n"
                     "from fedflm.audit.ledger import read\n")
    try:
        # Execute
        found = fedflm_imports(probe)
    finally:
        probe.unlink()
    # Assert
    bad = [m for _, m in found if not m.startswith(ALLOWED)]
    assert bad == ["fedflm.privacy.dp", "fedflm.train", "fedflm.audit.empirical"]

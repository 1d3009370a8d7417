"""The package rules of docs/ARCHITECTURE.md, checked on the source: every ``import`` (module level or
inside a function) is read with ``ast`` and followed through fedflm's own modules, so a rule also
fails when a forbidden package is reached through an intermediate module."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fedflm"

#: What the owner's protection pipeline may import of fedflm: itself, the base modules and the locator of the
#: shipped data files (the de-identification vocabulary is read from the built-in train splits). An owner's
#: auditor then reads exactly fedflm/protect/ and these files to know everything that touches raw text.
PROTECT_MAY_IMPORT = ("fedflm.protect", "fedflm.errors", "fedflm.io", "fedflm.jsonl", "fedflm.data.builtin_files")


def _every_module() -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in PACKAGE.rglob("*.py"))


def _forbidden_but(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Every fedflm module that is neither in ``allowed`` nor a package on the way to one of them."""
    def kept(module: str) -> bool:
        return any(module == a or module.startswith(a + ".") or a.startswith(module + ".") for a in allowed)
    return tuple(m for m in _every_module() if m != "fedflm" and not kept(m))


#: Every other fedflm module, plus the training and Flower stacks: the protection pipeline trains nothing.
PROTECT_FORBIDDEN = (*_forbidden_but(PROTECT_MAY_IMPORT), "flwr", "torch", "transformers", "peft", "opacus")

#: (rule, modules it applies to (prefixes), forbidden imports (prefixes)); checked transitively.
RULES = [
    ("the protection pipeline imports only itself, errors, io, jsonl and builtin_files", ("fedflm.protect",),
     PROTECT_FORBIDDEN),
    ("simulation data sets do not use the protection pipeline", ("fedflm.data",), ("fedflm.protect",)),
    ("the library never imports the Flower apps", ("fedflm",), ("server", "clients")),
    ("fedflm.fl does not depend on fedflm.report", ("fedflm.fl",), ("fedflm.report",)),
    ("data and privacy know nothing of Flower", ("fedflm.data", "fedflm.privacy"), ("flwr", "fedflm.fl")),
    ("reports read run directories; they run no training",
     ("fedflm.report",),
     ("fedflm.fl", "fedflm.train", "fedflm.models", "fedflm.privacy", "fedflm.bench", "fedflm.protect")),
    ("the ledger audit is independent of the training code",
     ("fedflm.audit.ledger",),
     ("fedflm.train", "fedflm.models", "fedflm.fl", "fedflm.privacy", "fedflm.deploy", "fedflm.data",
      "fedflm.protect", "fedflm.audit.empirical", "fedflm.audit.mechanism", "fedflm.owner", "torch",
      "transformers", "peft", "flwr")),
]

#: Known breaks, listed so that every other one fails: (importing module, forbidden name). Remove an entry
#: when its import goes; docs/ARCHITECTURE.md says why each is here.
KNOWN_EXCEPTIONS = {
    ("fedflm.deploy.warm", "clients.app"),  # issue 17's warm trainer runs the ClientApp's train in-process
    ("fedflm.deploy.warm_clientapp", "clients.app"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str) -> list[str]:
    """The fedflm modules that importing ``name`` runs (its parent packages included)."""
    parts = name.split(".")
    return [m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if m in _modules()]


@lru_cache(maxsize=None)
def direct_imports(module: str) -> frozenset[str]:
    """Every name ``module`` imports: modules, and ``pkg.attr`` for ``from pkg import attr``."""
    tree = ast.parse(_modules()[module].read_text(encoding="utf-8"))
    is_package = _modules()[module].name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    # A package's __init__ runs whenever a submodule is imported: only its module-level imports count
    # (fedflm/__init__.py imports its façade lazily, inside __getattr__). Elsewhere every import counts.
    nodes = tree.body if is_package else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def reachable(module: str) -> dict[str, str]:
    """Every name imported by ``module`` or the fedflm modules it reaches -> the module importing it."""
    seen: dict[str, str] = {}
    stack = [module]
    visited = {module}
    while stack:
        current = stack.pop()
        for name in direct_imports(current):
            seen.setdefault(name, current)
            for target in _resolve(name):
                if target not in visited:
                    visited.add(target)
                    stack.append(target)
    return seen


def _applies(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _is(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("rule", "applies_to", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_import_rule(rule: str, applies_to: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    # Prepare
    modules = sorted(m for m in _modules() if _applies(m, applies_to))

    # Execute
    broken = [f"{m} reaches {name} (imported by {via})" for m in modules
              for name, via in sorted(reachable(m).items())
              if any(_is(name, f) for f in forbidden)
              and not any(via == mod and _is(name, bad) for mod, bad in KNOWN_EXCEPTIONS)]

    # Assert
    assert modules, f"rule {rule!r} applies to no module: update RULES"
    assert not broken, f"{rule}:\n" + "\n".join(broken)


def test_the_checker_sees_imports_inside_functions_and_through_other_modules() -> None:
    # Prepare: fedflm.api imports fedflm.fl.simulation at module level, which reaches fedflm.data.load;
    # fedflm.fl.simulation imports flwr only inside a function
    # Execute
    from_api = reachable("fedflm.api")
    from_simulation = direct_imports("fedflm.fl.simulation")

    # Assert
    assert "fedflm.data.load" in from_api and any(_is(n, "flwr") for n in from_simulation)


def test_the_protect_rule_forbids_every_other_module() -> None:
    # Prepare: the list is computed from the source tree, so it must not come out empty or miss a package
    expected = {"fedflm.data.load", "fedflm.data.partition", "fedflm.fl.simulation", "fedflm.train.local",
                "fedflm.models.lora", "fedflm.privacy.dp", "fedflm.deploy.client", "fedflm.owner.settings",
                "fedflm.report.html", "fedflm.cli.main", "fedflm.config", "fedflm.api"}

    # Execute
    forbidden = set(PROTECT_FORBIDDEN)

    # Assert
    assert expected <= forbidden
    assert not {m for m in forbidden if _is(m, "fedflm.protect")} | (forbidden & set(PROTECT_MAY_IMPORT))

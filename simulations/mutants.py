"""Mutation check for the privacy core: every known mutant must be killed by the tests.

Each mutant is a small text edit (a bug that once survived the suite, see issue 19).
The script copies the repository to a temporary folder, checks that the relevant
tests pass there unmodified, then applies the mutants one at a time, runs their
tests (``-x``, non-slow) and restores the file. It fails when a mutant survives,
when a run errors for another reason, or when a mutant's target text is no longer
in its file (then update the mutant: the code it guards has changed).

    python simulations/mutants.py            # all mutants  (make test-mutants)
    python simulations/mutants.py --list     # names, files and tests
    python simulations/mutants.py NAME ...   # only these
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".hypothesis",
                                "*.egg-info", "build", "dist", ".flwr")


@dataclass(frozen=True)
class Edit:
    path: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]


MUTANTS = (
    Mutant("clip-norm-not-the-recorded-one",
           "DP-SGD clips at 1e6 while the ledger still records C",
           (Edit("fedflm/privacy/federation.py", "max_grad_norm=max_grad_norm, secure_mode=secure_mode",
                 "max_grad_norm=1e6, secure_mode=secure_mode"),),
           ("tests/privacy/test_federation.py",)),
    Mutant("secure-sampler-uses-torch-rand",
           "secure-mode Poisson sampling draws from torch.rand instead of the OS CSPRNG",
           (Edit("fedflm/privacy/dp.py", "mask = secure_uniform(self.num_samples) < self.sample_rate",
                 "mask = torch.rand(self.num_samples) < self.sample_rate"),),
           ("tests/privacy/test_dp.py",)),
    Mutant("secure-noise-from-torch-normal",
           "secure-mode noise drawn from torch's generator",
           (Edit("fedflm/privacy/dp.py", "noise = secure_gaussian(p.summed_grad.shape, std, like=p.summed_grad)",
                 "noise = torch.normal(0.0, std, p.summed_grad.shape, dtype=p.summed_grad.dtype)"),),
           ("tests/privacy/test_dp.py",)),
    Mutant("secure-noise-falls-back-to-opacus",
           "secure-mode noise falls back to Opacus' own add_noise (torch's generator)",
           (Edit("fedflm/privacy/dp.py", "        if not self.secure_mode:\n            super().add_noise()",
                 "        if True:\n            super().add_noise()"),),
           ("tests/privacy/test_dp.py",)),
    Mutant("audit-cli-tolerance-50-percent",
           "the audit CLI's own --tolerance default set to 50 %",
           (Edit("fedflm/cli/audit.py", '"--tolerance", type=float, default=DEFAULT_TOLERANCE,',
                 '"--tolerance", type=float, default=0.5,'),),
           ("tests/cli/test_audit_cli.py",)),
    Mutant("audit-library-tolerance-50-percent",
           "the ledger audit's default tolerance set to 50 %",
           (Edit("fedflm/audit/ledger/defaults.py", "DEFAULT_TOLERANCE = 0.01", "DEFAULT_TOLERANCE = 0.5"),),
           ("tests/cli/test_audit_cli.py",)),
    Mutant("shard-checksum-not-compared",
           "a shard's SHA-256 is never compared with the manifest's",
           (Edit("fedflm/protect/store.py", 'if hashlib.sha256(blob).hexdigest() != entry["sha256"]:',
                 "if False:"),),
           ("tests/protect/test_store_crypto.py",)),
    Mutant("manifest-aad-empty",
           "the manifest's clear header is not authenticated (empty AAD on both sides)",
           (Edit("fedflm/protect/store_format.py", "return head + seal(key, canonical(body), head)",
                 'return head + seal(key, canonical(body), b"")'),
            Edit("fedflm/protect/store_format.py", "unseal(key, data[offset:], data[:offset], f\"{where}\")",
                 'unseal(key, data[offset:], b"", f"{where}")')),
           ("tests/protect/test_store_crypto.py",)),
)


class MutantTargetMissing(RuntimeError):
    """A mutant's target text is not (exactly once) in its file: the mutant needs updating."""


def _apply(root: Path, edit: Edit) -> str:
    """Apply one edit in ``root``; returns the original file text."""
    path = root / edit.path
    text = path.read_text(encoding="utf-8")
    count = text.count(edit.old)
    if count != 1:
        raise MutantTargetMissing(f"{edit.path}: target text found {count} times (expected once): {edit.old!r}")
    path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    return text


def _pytest(root: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "FLWR_TELEMETRY_ENABLED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow",
           *tests]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, tail[-1] if tail else ""


def run_mutant(root: Path, mutant: Mutant) -> tuple[str, str]:
    """("killed" | "SURVIVED" | "ERROR", detail) for one mutant, files restored afterwards."""
    originals: dict[str, str] = {}
    try:
        for edit in mutant.edits:
            originals.setdefault(edit.path, _apply(root, edit))
        code, last = _pytest(root, mutant.tests)
    except MutantTargetMissing as exc:
        return "ERROR", str(exc)
    finally:
        for rel, text in originals.items():
            (root / rel).write_text(text, encoding="utf-8")
    if code == 1:
        return "killed", last
    if code == 0:
        return "SURVIVED", last
    return "ERROR", f"pytest exit code {code}: {last}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutant(s): {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.bug}\n    files: {', '.join(sorted({e.path for e in m.edits}))}"
                  f"\n    tests: {' '.join(m.tests)}")
        return 0
    with tempfile.TemporaryDirectory(prefix="fedflm-mutants-") as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(ROOT, root, ignore=IGNORE)
        tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
        code, last = _pytest(root, tests)
        if code != 0:
            print(f"baseline: the unmutated tests do not pass ({last}); fix them first", file=sys.stderr)
            return 2
        print(f"baseline: {last}")
        failed = 0
        for m in chosen:
            t0 = time.perf_counter()
            verdict, detail = run_mutant(root, m)
            failed += verdict != "killed"
            print(f"{verdict:<9}{m.name:<38}{time.perf_counter() - t0:6.0f} s  {detail}", flush=True)
    print(f"{len(chosen) - failed} of {len(chosen)} mutants killed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

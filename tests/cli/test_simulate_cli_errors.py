"""`fedflm simulate` on bad input: one error line, non-zero exit, no traceback, Flower never started.

Each case runs the real console entry point in a subprocess. Ray's temp
directory is pointed into the test's tmp dir: it must stay empty, proving
that the error was raised before the Simulation Engine (and Ray) started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stderr: str
    stdout: str
    run_dir: Path
    ray_dir: Path


def _files(tmp: Path) -> dict[str, Path]:
    """The bad inputs, written once for all cases."""
    tmp.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"review {i},{'pos' if i % 2 else 'neg'}\n" for i in range(40))
    files = {
        "good": ("text,label\n" + rows).encode(),
        "latin1": b"text,label\nfine,pos\ncaf\xe9 au lait,neg\nok,neg\n",
        "header": b"text,label\n",
        "oneclass": ("text,label\n" + "".join(f"r{i},pos\n" for i in range(20))).encode(),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp / f"{name}.csv"
        paths[name].write_bytes(content)
    paths["config"] = tmp / "bad.toml"
    paths["config"].write_text('[fed]\nclients = 3\nnum_rounds = 2\n')
    return paths


#: case id -> (arguments given the input files, text the single error line must contain)
CASES: dict[str, tuple[Callable[[dict[str, Path]], list[str]], str]] = {
    "clients-0": (lambda f: ["--clients", "0"], "clients must be >= 1, got 0"),
    "unknown-dataset": (lambda f: ["--dataset", "sst-3"], "unknown dataset 'sst-3'"),
    "missing-file": (lambda f: ["--dataset", str(f["good"].with_name("absent.csv"))],
                     "absent.csv: file not found"),
    "non-utf8": (lambda f: ["--dataset", str(f["latin1"])], "line 3 is not valid UTF-8"),
    "header-only": (lambda f: ["--dataset", str(f["header"])],
                    "contains no data rows (header only)"),
    "unknown-column": (lambda f: ["--dataset", str(f["good"]), "--text-column", "body"],
                       "no text column 'body' (columns: text, label)"),
    "one-class": (lambda f: ["--dataset", str(f["oneclass"])], "label column has only one class"),
    "empty-partition": (lambda f: ["--dataset", str(f["good"]), "--clients", "30",
                                   "--partition", "dirichlet:0.01"], "gets no data"),
    "bad-partition": (lambda f: ["--partition", "dirichlet:1.2.3"],
                      "dirichlet alpha must be a number, got '1.2.3'"),
    "bad-config-key": (lambda f: ["--config", str(f["config"])], "unknown config key 'num_rounds'"),
}


def _run(case: str, args: list[str], tmp: Path) -> Outcome:
    run_dir, ray_dir = tmp / "runs" / case, tmp / "ray" / case
    ray_dir.mkdir(parents=True)
    env = {**os.environ, "RAY_TMPDIR": str(ray_dir), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("RAY_ADDRESS", None)  # a private Ray, which would leave its session directory in ray_dir
    proc = subprocess.run([sys.executable, "-m", "fedflm.cli.main", "simulate", *args,
                           "--out", str(run_dir), "--quiet"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return Outcome(proc.returncode, proc.stderr, proc.stdout, run_dir, ray_dir)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every case once (two at a time; each is a separate short-lived process)."""
    tmp = tmp_path_factory.mktemp("cli-errors")
    files = _files(tmp / "inputs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case: pool.submit(_run, case, args(files), tmp)
                   for case, (args, _) in CASES.items()}
    return {case: f.result() for case, f in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_error_line_and_no_run(outcomes: dict[str, Outcome], case: str) -> None:
    # Prepare
    needle = CASES[case][1]

    # Execute
    out = outcomes[case]

    # Assert: exit code 2, exactly one stderr line naming the problem, no traceback
    lines = out.stderr.splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fedflm: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in out.stderr + out.stdout
    # ... no run directory passed off as complete ...
    if out.run_dir.exists():
        assert (out.run_dir / "INCOMPLETE").exists()
        assert not (out.run_dir / "summary.json").exists()
    # ... and Ray never started (it would have made a session directory here)
    assert list(out.ray_dir.iterdir()) == []

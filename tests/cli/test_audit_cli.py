"""`fedflm audit ledger` through the argparse layer: exit codes, lines, report files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audit"))
from ledger_factory import make_entries, read_lines, write_ledger, write_lines  # noqa: E402

from fedflm.cli.main import main  # noqa: E402

KEY = bytes(range(1, 33))


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    write_ledger(run / "ledgers" / "client-0.jsonl", make_entries("client-0", [(1.0, 0.05, 60)] * 3, cap=8.0), KEY)
    write_ledger(run / "ledgers" / "client-1.jsonl", make_entries("client-1", [(1.0, 0.05, 90)] * 3, cap=8.0), KEY)
    return run


def test_clean_run_exits_zero_and_writes_report(run_dir: Path, tmp_path: Path, capsys) -> None:
    # Prepare
    key_file = tmp_path / "k.hex"
    key_file.write_text(KEY.hex() + "\n")
    out = tmp_path / "report"
    # Execute
    code = main(["audit", "ledger", str(run_dir), "--key-file", str(key_file), "--out", str(out)])
    # Assert
    assert code == 0
    assert "PASS" in capsys.readouterr().out
    data = json.loads((out / "report.json").read_text())
    assert data["ok"] and [o["owner"] for o in data["owners"]] == ["client-0", "client-1"]
    assert all(o["mac_verified"] for o in data["owners"])
    assert data["federation"]["owner_of_max"] == "client-1"
    assert "| client-1 | 3 |" in (out / "report.md").read_text()
    png = (out / "epsilon_per_round.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_tampered_run_exits_nonzero_with_one_line_per_failure(run_dir: Path, tmp_path: Path, capsys) -> None:
    # Prepare: delete client-1's second entry
    path = run_dir / "ledgers" / "client-1.jsonl"
    lines = read_lines(path)
    write_lines(path, [lines[0], lines[2]])
    # Execute
    code = main(["audit", "ledger", str(run_dir), "--out", str(tmp_path / "r"), "--final-only"])
    # Assert
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err and all(line.startswith("FAIL owner=client-1 ") for line in err)
    assert any(f"{path}:2" in line and "hash chain broken" in line for line in err)


def test_default_tolerance_is_the_librarys_one_percent(tmp_path: Path, capsys) -> None:
    # Prepare: every recorded epsilon 3 % above the recomputed value (over-stated, not under-counted)
    from fedflm.audit.ledger.audit import DEFAULT_TOLERANCE
    entries = [dict(e, epsilon=e["epsilon"] * 1.03) for e in make_entries("client-0", [(1.0, 0.05, 60)] * 2)]
    write_ledger(tmp_path / "run" / "ledgers" / "client-0.jsonl", entries)
    args = ["audit", "ledger", str(tmp_path / "run"), "--final-only"]

    # Execute
    default = main([*args, "--out", str(tmp_path / "a")])
    loose = main([*args, "--out", str(tmp_path / "b"), "--tolerance", "0.05"])

    # Assert: 3 % fails at the library's 1 % and passes at 5 %
    assert DEFAULT_TOLERANCE == 0.01
    assert (default, loose) == (1, 0)
    assert "by 3 % (> 1 %)" in capsys.readouterr().err


def test_raw_and_base64_key_files_and_owner_mapping(run_dir: Path, tmp_path: Path) -> None:
    # Prepare
    raw = tmp_path / "k.bin"
    raw.write_bytes(KEY)
    b64 = tmp_path / "k.b64"
    b64.write_text(__import__("base64").b64encode(KEY).decode())
    # Execute
    code = main(["audit", "ledger", str(run_dir), "--out", str(tmp_path / "r"), "--final-only",
                 "--key-file", f"client-0={raw}", "--key-file", f"client-1={b64}"])
    # Assert
    assert code == 0


def test_wrong_key_fails_every_entry(run_dir: Path, tmp_path: Path, capsys) -> None:
    # Prepare
    wrong = tmp_path / "wrong.hex"
    wrong.write_text("ab" * 32)
    # Execute
    code = main(["audit", "ledger", str(run_dir), "--out", str(tmp_path / "r"), "--final-only",
                 "--key-file", str(wrong)])
    # Assert
    assert code == 1
    assert capsys.readouterr().err.count("MAC does not verify") == 6


def test_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    # Prepare
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not a key")
    write_ledger(tmp_path / "l.jsonl", make_entries("x", [(1.0, 0.05, 10)]))
    # Execute
    missing = main(["audit", "ledger", str(tmp_path / "absent")])
    bad = main(["audit", "ledger", str(tmp_path / "l.jsonl"), "--key-file", str(bad_key)])
    # Assert
    err = capsys.readouterr().err.strip().splitlines()
    assert missing == 2 and bad == 2
    assert err == [f"fedflm: error: {tmp_path / 'absent'}: no such file or directory",
                   f"fedflm: error: {bad_key}: not a 256-bit key (expected 32 raw bytes, 64 hex or 44 base64 "
                   f"characters, got 9 characters)"]


def test_empirical_cli_writes_report_and_exits_zero(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    # Prepare: a run config file as `fedflm simulate --config` takes it, shortened by --set
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'dataset = "sst2"\nclients = 4\nrounds = 3\nmodel = "{tiny_model_dir}"\ndp = "none"\n'
                   f'partition = "iid"\nmax_length = 32\n')
    out = tmp_path / "emp"
    # Execute
    code = main(["audit", "empirical", "--config", str(cfg), "--set", "samples_per_client=16",
                 "--set", "local_epochs=2", "--rounds", "1", "--canaries", "20", "--seed", "3",
                 "--feature-cache", "off", "--out", str(out)])
    # Assert
    assert code == 0
    printed = capsys.readouterr().out
    assert "with 95 % confidence" in printed and "claimed epsilon inf (no DP)" in printed
    data = json.loads((out / "empirical.json").read_text())
    assert data["bound"]["m"] == 20 and data["claimed_epsilon"] is None and data["rounds"] == 1
    assert data["feature_cache"] is False and data["train_mode"] == "head" and len(data["scores"]) == 20
    assert "empirical lower bound" in (out / "empirical.md").read_text()


def test_empirical_cli_bad_override_is_one_line(tmp_path: Path, capsys) -> None:
    # Execute
    code = main(["audit", "empirical", "--set", "no_such_key=1"])
    # Assert
    assert code == 2
    assert capsys.readouterr().err.strip() == "fedflm: error: unknown config key 'no_such_key'"


# --- `audit mechanism` and `audit all` on a run directory written by fedflm's own writers ---

SIGMA, Q, STEPS = 1.0, 0.2, 30  # batch 20 of n = 100 rows: claimed epsilon ~8.9 (RDP, delta 1e-5)
FAST = ["--canaries", "1500", "--runs", "1", "--seed", "7", "--final-only"]


@pytest.fixture()
def dp_run(tiny_model_dir: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(run dir, owners' state dir, key file): two owners, one DP-SGD round each."""
    from fedflm.config import RunConfig
    from fedflm.fl.rundir import config_to_toml
    from fedflm.privacy.state import OwnerPrivacy

    run, state = tmp_path / "run", tmp_path / "state"
    (run / "ledgers").mkdir(parents=True)
    cfg = RunConfig.from_flat({"dataset": "sst2", "model": str(tiny_model_dir), "device": "cpu", "dp": "sample",
                               "batch_size": 20, "clients": 2, "rounds": 1, "max_length": 32})
    (run / "config.toml").write_text(config_to_toml(cfg))
    (run / "summary.json").write_text(json.dumps({"label_names": ["negative", "positive"]}))
    for owner in ("client-0", "client-1"):
        OwnerPrivacy(state / owner, owner, 1e-5, key=KEY).record("run-1", 1, SIGMA, Q, STEPS, 1.0)
        (run / "ledgers" / f"{owner}.jsonl").write_bytes((state / owner / "ledger.jsonl").read_bytes())
    key_file = tmp_path / "owners.key"
    key_file.write_text(KEY.hex())
    return run, state, key_file


def test_audit_all_passes_and_writes_one_reproducible_sign_off(dp_run, tmp_path: Path, capsys) -> None:
    # Prepare
    run, state, key = dp_run
    args = ["audit", "all", str(run), str(state), "--key-file", str(key), *FAST, "--owner", "client-0"]
    # Execute
    code = main([*args, "--out", str(tmp_path / "a")])
    again = main([*args, "--out", str(tmp_path / "b")])
    # Assert
    assert code == 0 and again == 0
    printed = capsys.readouterr().out
    assert "owner client-0: ledger PASS; mechanism PASS" in printed
    assert "owner client-1: ledger PASS; mechanism not run" in printed
    page = (tmp_path / "a" / "audit.html").read_text()
    for section in ("Verdict per owner", "What was checked", "What was trusted", "Limits", "Inputs SHA-256"):
        assert section in page
    first, second = (json.loads((tmp_path / d / "audit.json").read_text()) for d in ("a", "b"))
    assert first["ok"] and first["manifest"]["inputs_sha256"] == second["manifest"]["inputs_sha256"]
    a, b = (d["mechanism"]["client-0"] for d in (first, second))  # --seed: same noise, batches, bounds
    assert (a["lower_bound"], a["sampler"]["p_value"]) == (b["lower_bound"], b["sampler"]["p_value"])
    assert len(first["manifest"]["files"]) == 6  # config, summary, 2 run copies, 2 owners' ledgers
    assert KEY.hex() not in page and KEY.hex() not in json.dumps(first)


def test_audit_all_exits_one_when_a_ledger_was_tampered_with(dp_run, tmp_path: Path, capsys) -> None:
    # Prepare: the run's copy of client-1's ledger claims a smaller epsilon
    run, state, key = dp_run
    path = run / "ledgers" / "client-1.jsonl"
    lines = read_lines(path)
    entry = json.loads(lines[0])
    entry["epsilon"] *= 0.5
    lines[0] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    write_lines(path, lines)
    # Execute
    code = main(["audit", "all", str(run), str(state), "--key-file", str(key), *FAST, "--owner", "client-0",
                 "--out", str(tmp_path / "a")])
    # Assert
    assert code == 1
    assert "owner client-1: ledger FAIL" in capsys.readouterr().out
    assert "Verdict: <span class=\"FAIL\">" in (tmp_path / "a" / "audit.html").read_text()


def test_audit_all_exits_one_when_the_step_adds_half_its_noise(dp_run, tmp_path: Path, monkeypatch, capsys) -> None:
    # Prepare: a mutant of the code under test; the ledgers stay correct
    from fedflm.privacy.dp import PrivateOptimizer

    real = PrivateOptimizer.add_noise

    def half_noise(self) -> None:
        self.noise_multiplier /= 2
        try:
            real(self)
        finally:
            self.noise_multiplier *= 2

    monkeypatch.setattr(PrivateOptimizer, "add_noise", half_noise)
    run, state, key = dp_run
    # Execute
    code = main(["audit", "all", str(run), str(state), "--key-file", str(key), *FAST, "--owner", "client-0",
                 "--out", str(tmp_path / "a")])
    # Assert
    assert code == 1
    printed = capsys.readouterr().out
    assert "owner client-0: ledger PASS; mechanism FAIL" in printed


def test_audit_mechanism_on_a_state_dir(dp_run, tmp_path: Path, capsys) -> None:
    # Prepare
    run, state, key = dp_run
    # Execute
    code = main(["audit", "mechanism", str(run), str(state), "--key-file", str(key), *FAST,
                 "--out", str(tmp_path / "m")])
    # Assert
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.count("PASS: lower bound") == 2
    data = json.loads((tmp_path / "m" / "mechanism.json").read_text())
    assert set(data) == {"client-0", "client-1"} and data["client-0"]["claim"]["secure_mode"] is False


def test_audit_mechanism_secure_mode_as_the_owner_ran_it(dp_run, tmp_path: Path) -> None:
    # Prepare: deployed nodes default to secure mode, which the ledger does not record
    run, state, key = dp_run
    # Execute
    code = main(["audit", "mechanism", str(run), str(state), "--key-file", str(key), *FAST, "--owner", "client-1",
                 "--secure-mode", "on", "--out", str(tmp_path / "m")])
    # Assert
    assert code == 0
    data = json.loads((tmp_path / "m" / "mechanism.json").read_text())
    assert list(data) == ["client-1"] and data["client-1"]["claim"]["secure_mode"] is True


def test_audit_ledger_accepts_a_state_dir_of_owners(dp_run, tmp_path: Path) -> None:
    # Prepare
    _, state, key = dp_run
    # Execute
    code = main(["audit", "ledger", str(state), "--key-file", str(key), "--final-only", "--out", str(tmp_path / "r")])
    # Assert
    assert code == 0
    assert [o["owner"] for o in json.loads((tmp_path / "r" / "report.json").read_text())["owners"]] == \
        ["client-0", "client-1"]

"""``fedflm data`` CLI: keygen / prepare / inspect / rotate-key, one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fedflm.cli.data import main
from fedflm.protect.keys import ENV_VAR


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def workdir(tmp_path: Path, capsys: pytest.CaptureFixture) -> Path:
    (tmp_path / "in.csv").write_text(
        'text,label\n"Call Maria Garcia at +44 20 7946 0958",a\n"all good",b\n"mail me: x@example.org",a\n')
    assert _run(capsys, "keygen", "--out", str(tmp_path / "k"))[0] == 0
    return tmp_path


def _prepare(capsys, d: Path, *extra: str) -> tuple[int, str, str]:
    return _run(capsys, "prepare", str(d / "in.csv"), "--text-column", "text", "--label-column", "label",
                "--out", str(d / "store"), "--key-file", str(d / "k"), "--rows-per-shard", "2", *extra)


def test_keygen_mode_and_refusal(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Execute
    code, _, err = _run(capsys, "keygen", "--out", str(workdir / "k"))
    # Assert
    assert stat.S_IMODE((workdir / "k").stat().st_mode) == 0o600
    assert code != 0 and err.count("\n") == 1 and "refusing to overwrite" in err


def test_prepare_then_inspect_without_records(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Execute
    code, out, _ = _prepare(capsys, workdir)
    icode, iout, _ = _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "k"))
    # Assert
    assert code == 0 and "3 rows in 2 encrypted shard(s)" in out
    assert icode == 0 and "rows: 3 in 2 shard(s)" in iout and "shards: 2 of 2 authenticated" in iout
    assert "PERSON 1" in iout and "PHONE_NUMBER 1" in iout and "EMAIL_ADDRESS 1" in iout
    assert "Maria" not in iout and "all good" not in iout  # no records without --show


def test_inspect_show_prints_deidentified_records(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    _prepare(capsys, workdir)
    # Execute
    code, out, _ = _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "k"),
                        "--show", "2")
    # Assert
    assert code == 0 and "[a] 'Call <PERSON> at <PHONE>'" in out and "[b] 'all good'" in out


def test_tampered_shard_fails_naming_it(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    _prepare(capsys, workdir)
    shard = sorted((workdir / "store" / "shards").iterdir())[1]
    data = bytearray(shard.read_bytes())
    data[30] ^= 0x04
    shard.write_bytes(bytes(data))
    # Execute
    code, out, err = _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "k"))
    # Assert
    assert code != 0 and "shard 1" in err and err.count("\n") == 1 and "FAILED" in out


def test_wrong_key_one_line_error(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    _prepare(capsys, workdir)
    _run(capsys, "keygen", "--out", str(workdir / "other"))
    # Execute
    code, out, err = _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "other"))
    # Assert
    assert code != 0 and "wrong key" in err and err.count("\n") == 1 and out == ""


def test_rotate_key(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    _prepare(capsys, workdir)
    _run(capsys, "keygen", "--out", str(workdir / "new"))
    # Execute
    code, out, _ = _run(capsys, "rotate-key", str(workdir / "store"), "--key-file", str(workdir / "k"),
                        "--new-key-file", str(workdir / "new"))
    # Assert
    assert code == 0 and "no longer opens it" in out
    assert _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "new"))[0] == 0
    assert _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "k"))[0] != 0


def test_deid_off_warns_loudly_and_is_recorded(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Execute
    code, _, err = _prepare(capsys, workdir, "--deid", "off")
    _, iout, _ = _run(capsys, "inspect", str(workdir / "store"), "--key-file", str(workdir / "k"))
    # Assert
    assert code == 0 and "DE-IDENTIFICATION DISABLED" in err and "!!!!" in err
    assert "de-identification: OFF" in iout and "WARNING: DE-IDENTIFICATION DISABLED" in iout


def test_loose_key_permissions_warn_in_one_line(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    (workdir / "k").chmod(0o644)
    # Execute
    code, _, err = _prepare(capsys, workdir)
    # Assert
    assert code == 0 and "fedflm: warning:" in err and "chmod 600" in err


def test_key_from_environment(workdir: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    # Prepare
    monkeypatch.setenv(ENV_VAR, (workdir / "k").read_text().strip())
    # Execute
    code, out, _ = _run(capsys, "prepare", str(workdir / "in.csv"), "--text-column", "text",
                        "--label-column", "label", "--out", str(workdir / "store"))
    # Assert
    assert code == 0 and _run(capsys, "inspect", str(workdir / "store"))[0] == 0


def test_input_error_is_one_line_and_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    # Execute
    code, _, err = _run(capsys, "prepare", str(workdir / "in.csv"), "--text-column", "body",
                        "--label-column", "label", "--out", str(workdir / "store"), "--key-file", str(workdir / "k"))
    # Assert
    assert code != 0 and err.count("\n") == 1 and "no column 'body'" in err
    assert not (workdir / "store").exists()

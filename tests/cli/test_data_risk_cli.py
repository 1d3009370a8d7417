"""``fedflm data inspect --risk``: residual-risk tokens on the owner's console only."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fedflm.cli.data import main


def _store(tmp_path: Path, rows: str, *extra: str) -> str:
    """A de-identified encrypted store of the CSV ``rows`` at tmp_path/store; returns its key file."""
    (tmp_path / "in.csv").write_text("text,label\n" + rows)
    key = str(tmp_path / "k")
    assert main(["keygen", "--out", key]) == 0
    assert main(["prepare", str(tmp_path / "in.csv"), "--text-column", "text", "--label-column", "label",
                 "--out", str(tmp_path / "store"), "--key-file", key, *extra]) == 0
    return key


def test_inspect_risk_lists_leftover_tokens_without_logging(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    # Prepare: a record whose reference number and odd capitalised word are not PII types
    key = _store(tmp_path, '"Ref 99887766554433221 from Qwertzuiop, thanks",a\n"all good",b\n')
    capsys.readouterr()
    caplog.set_level(logging.DEBUG)
    # Execute
    code = main(["inspect", str(tmp_path / "store"), "--key-file", key, "--risk", "5"])
    out = capsys.readouterr().out
    # Assert: listed on stdout for the owner, nothing about them in any log record
    assert code == 0 and "residual risk" in out
    assert "99887766554433221" in out and "digit run" in out
    assert not any("99887766554433221" in r.getMessage() for r in caplog.records)


def test_inspect_risk_rejects_a_bad_count(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # Prepare
    key = _store(tmp_path, '"fine",a\n', "--deid-engine", "patterns")
    capsys.readouterr()
    # Execute
    code = main(["inspect", str(tmp_path / "store"), "--key-file", key, "--risk", "0"])
    # Assert: one line naming the bad value, non-zero exit
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "got 0" in err


def test_inspect_risk_lists_a_kept_name_list_word_of_lower_case_chat(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    # Prepare: chat in lower case naming `nick`, a given name that is also an English word, which the
    # default de-identification keeps (no cue); with no capitals the old view listed nothing here
    key = _store(tmp_path, '"my card got declined so nick paid for lunch",a\n"all good",b\n')
    capsys.readouterr()
    # Execute
    code = main(["inspect", str(tmp_path / "store"), "--key-file", key, "--show", "1", "--risk", "5"])
    out = capsys.readouterr().out
    # Assert: the record still holds the name, and the risk view names it for the owner's review
    assert code == 0 and "so nick paid" in out
    assert any(line.split()[:1] == ["nick"] and "name-list word, text without capitals" in line
               for line in out.splitlines())

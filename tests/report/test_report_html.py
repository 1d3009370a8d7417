"""Tests for fedflm.report.html on copies of real run directories (tests/report/conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fedflm.config import RunConfig
from fedflm.errors import DataError
from fedflm.fl.rundir import config_to_toml
from fedflm.report.findings import INSECURE_TRANSPORT_WARNING, NO_DP_WARNING
from fedflm.report.html import SECTIONS, write_report

IMG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def _section(page: str, section_id: str) -> str:
    start = page.index(f'<section id="{section_id}"')
    return page[start: page.index("</section>", start)]


def test_dp_report_has_every_section_and_embedded_figures(make_run) -> None:
    # Prepare
    run_dir = make_run(dp=True)

    # Execute
    page_path = write_report(run_dir)

    # Assert
    page = page_path.read_text(encoding="utf-8")
    assert page_path == run_dir / "report.html"
    for section_id in SECTIONS:
        assert f'data-section="{section_id}"' in page
    # clients, metrics, epsilon, confusion, bytes; a DP client reports no train loss (issue 16's reply contract)
    assert len(IMG.findall(page)) == 5
    assert "No client training loss was recorded." in _section(page, "train-loss")
    assert "Budget ε = 3" in _section(page, "privacy")
    assert "epsilon = 3.0" in _section(page, "config")
    for name in ("clients", "global_metrics", "epsilon", "confusion", "bytes"):
        assert (run_dir / f"report_{name}.png").stat().st_size > 1000
    assert not (run_dir / "report_train_loss.png").exists()
    assert "No client training loss was recorded." in _section(page, "train-loss")
    assert NO_DP_WARNING not in page


def test_report_is_self_contained(make_run) -> None:
    # Prepare
    run_dir = make_run(dp=True)

    # Execute
    page = write_report(run_dir).read_text(encoding="utf-8")

    # Assert: nothing is fetched from anywhere (no src/href to files or the network)
    assert not re.search(r'(src|href)\s*=\s*"(?!data:)', page)
    assert "<script" not in page and "<link" not in page and "@import" not in page


def test_non_dp_report_warns_loudly_and_has_no_epsilon_plot(make_run) -> None:
    # Prepare
    run_dir = make_run(dp=False)

    # Execute
    page = write_report(run_dir).read_text(encoding="utf-8")

    # Assert
    assert NO_DP_WARNING in _section(page, "warnings")
    assert 'class="warning"' in _section(page, "privacy")
    assert "<img" not in _section(page, "privacy")
    assert not (run_dir / "report_epsilon.png").exists()


def test_deid_off_is_warned_for_a_users_file_simulated_without_prepare(make_run) -> None:
    # Prepare: the no-DP run trained on a user's CSV with prepare = false (its config.toml says so)
    run_dir = make_run(dp=False)

    # Execute
    warnings = _section(write_report(run_dir).read_text(encoding="utf-8"), "warnings")

    # Assert
    assert "DE-IDENTIFICATION OFF: data.prepare = false" in warnings and "reviews.csv" in warnings
    assert INSECURE_TRANSPORT_WARNING not in warnings  # a simulation: nothing crossed a network


def test_prepared_data_is_not_warned_and_summary_warnings_are_shown(make_run) -> None:
    # Prepare: the DP run's owners de-identified their data (prepare = true); the server's summary
    # warns that DP-SGD ran without secure mode (a simulation)
    run_dir = make_run(dp=True)

    # Execute
    warnings = _section(write_report(run_dir).read_text(encoding="utf-8"), "warnings")

    # Assert
    assert "DE-IDENTIFICATION OFF" not in warnings and NO_DP_WARNING not in warnings
    assert "DP secure_mode off" in warnings


def test_untrusted_text_is_escaped(make_run) -> None:
    # Prepare: a config value (written by the real config writer) and a warning that look like markup
    run_dir = make_run(dp=True)
    cfg = RunConfig.from_flat({"dataset": "<script>alert(1)</script>", "text_column": "text"})
    (run_dir / "config.toml").write_text(config_to_toml(cfg))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["warnings"].append("<img src=x onerror=alert(1)>")
    (run_dir / "summary.json").write_text(json.dumps(summary))

    # Execute
    page = write_report(run_dir).read_text(encoding="utf-8")

    # Assert
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_incomplete_run_without_optional_files_still_reports(make_run) -> None:
    # Prepare: a run that died early: only config and metrics remain
    run_dir = make_run(dp=False)
    for name in ("summary.json", "clients.json", "client_metrics.jsonl"):
        (run_dir / name).unlink()
    (run_dir / "INCOMPLETE").touch()

    # Execute
    page = write_report(run_dir).read_text(encoding="utf-8")

    # Assert
    for section_id in SECTIONS:
        assert f'data-section="{section_id}"' in page
    assert "RUN NOT COMPLETE" in _section(page, "warnings")
    assert "clients.json is absent" in _section(page, "clients")


def test_missing_run_dir_and_bad_metrics_are_data_errors(tmp_path: Path, make_run) -> None:
    # Prepare
    run_dir = make_run(dp=True)
    (run_dir / "metrics.jsonl").write_text('{"round": 0}\nnot json\n')

    # Execute / Assert
    with pytest.raises(DataError, match="not_a_run"):
        write_report(tmp_path / "not_a_run")
    with pytest.raises(DataError, match=r"metrics.jsonl: line 2"):
        write_report(run_dir)


def test_refused_and_failed_client_rounds_are_listed(make_run) -> None:
    # Prepare: client 1 refuses round 3 for its budget
    run_dir = make_run(dp=True)
    path = run_dir / "client_metrics.jsonl"
    lines = path.read_text().splitlines()
    lines.append('{"round": 3, "partition_id": 1, "status": "refused", "reason": "budget: eps 3.2 > cap 3.0"}')
    path.write_text("\n".join(lines) + "\n")

    # Execute
    section = _section(write_report(run_dir).read_text(encoding="utf-8"), "train-loss")

    # Assert
    assert "<td>refused</td>" in section and "budget: eps 3.2 &gt; cap 3.0" in section


def test_all_ok_client_rounds_say_so(make_run) -> None:
    # Execute
    section = _section(write_report(make_run(dp=False)).read_text(encoding="utf-8"), "train-loss")

    # Assert
    assert "All 6 client rounds ended ok." in section  # 3 clients x 2 rounds

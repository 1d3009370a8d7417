"""The report renders in headless Chromium (Debian package `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from fedflm.report.html import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_report_renders_to_a_non_blank_screenshot(make_run, tmp_path: Path) -> None:
    # Prepare
    page = write_report(make_run(dp=True))
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,3000",
        page.as_uri(),
    ]

    # Execute
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    # Assert
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1200)
    assert float(np.var(pixels[..., :3])) > 1e-3  # text and figures, not a blank page
    # The embedded figures rendered: a broken <img> would leave the lower page white
    assert float(np.var(pixels[1500:, :, :3])) > 1e-3

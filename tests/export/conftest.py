"""Exports of the finished run directory that tests/conftest.py builds without a federation."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exports(export_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The run exported once in each format (merged and onnx with int8)."""
    from fedflm.export.run_export import ExportConfig, export_run

    root = tmp_path_factory.mktemp("exports")
    out = {}
    for fmt in ("adapter", "merged", "onnx"):
        out[fmt] = root / fmt
        export_run(export_run_dir, ExportConfig(format=fmt, quantize="none" if fmt == "adapter" else "int8",
                                                out=str(out[fmt])))
    return out


@pytest.fixture()
def make_export_run(tiny_model_dir: Path, sst2_sample, tmp_path: Path, make_run_dir):
    """``make_export_run(**kwargs)``: another run directory (``build_run_dir`` in tests/conftest.py) under tmp_path."""
    def make(name: str = "r", rows: int = 60, **kwargs) -> Path:
        root = tmp_path / name
        root.mkdir()
        return make_run_dir(root, tiny_model_dir, sst2_sample[:rows], **kwargs)
    return make

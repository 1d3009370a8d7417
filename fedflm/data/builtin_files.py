"""Where the shipped data files (``fedflm/data/builtin/*.gz``) are on disk.

Usually beside this module. But ``flwr run .`` ships the project to the
ServerApp and ClientApps as a Flower App bundle (FAB), and Flower 1.42 puts
only ``*.py``, ``*.toml``, ``*.md``, ``*.json``, ``*.yaml``/``*.yml``,
``*.jsonl`` and ``LICENSE`` into a FAB -- a non-overridable rule
(``flwr.common.constant.FAB_INCLUDE_PATTERNS``). The app then imports fedflm
from the unpacked bundle, which has no ``.gz``. So the files are also looked
up in the *installed* fedflm distribution: a regular install (site-packages)
or an editable one (the checkout named in its ``direct_url.json``).
"""

from __future__ import annotations

import json
from importlib import metadata, resources
from pathlib import Path
from urllib.parse import unquote, urlparse

from fedflm.errors import DataError

__all__ = ["builtin_file"]

PACKAGE_DIR = "fedflm/data/builtin"


def builtin_file(filename: str) -> Path:
    """Absolute path of the shipped data file ``filename``; DataError when no copy is found."""
    candidates = [Path(str(resources.files("fedflm.data.builtin").joinpath(filename)))]
    candidates += _installed_candidates(filename)
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(f"built-in data file {filename} not found (looked in "
                    f"{', '.join(str(p.parent) for p in candidates)}); a Flower App bundle leaves out .gz "
                    "files, so fedflm must be installed (`make install` or `pip install .`)")


def _installed_candidates(filename: str) -> list[Path]:
    try:
        dist = metadata.distribution("fedflm")
    except metadata.PackageNotFoundError:
        return []
    out = [Path(str(dist.locate_file(f"{PACKAGE_DIR}/{filename}")))]  # regular install
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    url = urlparse(str(direct.get("url", "")))
    if direct.get("dir_info", {}).get("editable") and url.scheme == "file":
        out.append(Path(unquote(url.path)) / PACKAGE_DIR / filename)  # editable install: the checkout
    return out

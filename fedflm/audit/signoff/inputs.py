"""A manifest of the sign-off's inputs and one hash over it.

Every file read (the run's ``config.toml`` and ``summary.json``, every
ledger), the code that audits and the code under test (``fedflm/audit`` and
``fedflm/privacy`` sources), a fingerprint of each key given (never the key)
and the audit's settings, seed included. A second auditor who reruns
``fedflm audit all`` with the same inputs and ``--seed`` gets the same hash;
their verdict can differ only by the DP noise, which the step under test
draws itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import fedflm

KEY_FINGERPRINT_INFO = b"fedflm-audit-key-fingerprint"
CODE_PACKAGES = ("audit", "privacy")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """Identifies a key without revealing it (a hash of a domain-separated key)."""
    return hashlib.sha256(KEY_FINGERPRINT_INFO + key).hexdigest()[:16]


def code_sha256() -> dict[str, str]:
    """One hash per package over its sorted ``*.py`` sources (path and content)."""
    root = Path(fedflm.__file__).resolve().parent
    out = {}
    for pkg in CODE_PACKAGES:
        h = hashlib.sha256()
        for p in sorted((root / pkg).rglob("*.py")):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
        out[f"fedflm/{pkg}"] = h.hexdigest()
    return out


def manifest(files: Sequence[Path], keys: Mapping[str, bytes], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the sign-off rests on; ``inputs_sha256`` is the hash of the rest."""
    body = {
        "files": {str(p): file_sha256(p) for p in sorted(set(files), key=str)},
        "keys": {owner: key_fingerprint(k) for owner, k in sorted(keys.items())},
        "code": code_sha256(),
        "settings": dict(settings),
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode())
    return {**body, "inputs_sha256": digest.hexdigest()}

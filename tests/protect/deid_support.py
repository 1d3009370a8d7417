"""Helpers shared by the de-identification tests."""

from __future__ import annotations

from fedflm.protect.deid import Deidentifier


def persons(deid: Deidentifier, text: str) -> list[str]:
    """The texts of the PERSON spans ``deid`` finds in ``text``."""
    return [text[sp.start:sp.end] for sp in deid.analyze(text) if sp.entity == "PERSON"]

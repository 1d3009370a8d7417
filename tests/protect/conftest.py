"""Fixtures shared by the de-identification tests."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier


@pytest.fixture(scope="session")
def deid() -> Deidentifier:
    """The default de-identifier (engine learned); analysis keeps no state between texts."""
    return Deidentifier()

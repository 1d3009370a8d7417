"""Typed exception hierarchy for fedflm.

Every error a user can cause derives from :class:`FedflmError`; the CLI turns
these into one clear line on stderr and a non-zero exit code, never a
traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FedflmError(Exception):
    """Base class of all user-facing fedflm errors."""

    exit_code = 2


class ConfigError(FedflmError):
    """A configuration value is invalid (names the key and the bad value)."""


class DataError(FedflmError):
    """Input data is missing, malformed or unusable (names file/column/row)."""


class LeakageFound(DataError):
    """Owners hold records of the server's evaluation set and the run asked to fail on it (issue 22)."""


class PartitionError(DataError):
    """A partitioning request cannot be satisfied (e.g. a client gets no data)."""


class ModelError(FedflmError):
    """A model or adapter cannot be loaded or built."""


class PrivacyError(FedflmError):
    """Base class of differential-privacy errors."""


class PrivacyBudgetExceeded(PrivacyError):
    """Training one more round would push a data owner past its epsilon cap."""


class LedgerError(PrivacyError):
    """A privacy ledger is corrupt, truncated, reordered or tampered with."""


class StoreError(FedflmError):
    """An encrypted data store is missing, incomplete or of an unknown format."""


class DecryptionError(StoreError):
    """Opaque: any failure to authenticate or decrypt (wrong key or tampering).

    Deliberately carries no detail about *why* decryption failed beyond the
    object (shard or manifest) that failed, in line with AEAD practice.
    """


class KeyFileError(StoreError):
    """A key file is missing, malformed, or would be overwritten."""


class DeidError(FedflmError):
    """De-identification could not be performed as requested."""


class FederationError(FedflmError):
    """The federation cannot proceed (e.g. too few clients remain)."""


class PolicyRefused(PrivacyError):
    """A data owner's node refuses a run or round that breaks its own policy.

    ``code`` is a :class:`fedflm.owner.refusal.Refusal` value: the node sends it
    to the server in the error reply, so the server records *why* without
    parsing text."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)


class ExportError(FedflmError):
    """An export cannot be written or fails its verification (e.g. ONNX parity), or a model to
    predict with cannot be opened."""

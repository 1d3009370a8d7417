"""Audit findings: one line per problem, naming owner, file and line."""

from __future__ import annotations

from dataclasses import dataclass

FAIL = "FAIL"
WARN = "WARN"


@dataclass(frozen=True)
class Finding:
    """A verification failure (``FAIL``) or a remark that does not fail (``WARN``)."""

    severity: str
    owner: str
    file: str
    line: int | None
    message: str

    def __post_init__(self) -> None:
        if self.severity not in (FAIL, WARN):
            raise ValueError(f"severity must be {FAIL!r} or {WARN!r}, got {self.severity!r}")

    @property
    def failed(self) -> bool:
        return self.severity == FAIL

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{self.severity} owner={self.owner} {where}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"severity": self.severity, "owner": self.owner, "file": self.file,
                "line": self.line, "message": self.message}

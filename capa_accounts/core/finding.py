"""A finding: data that a rule returns about one place in the repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from capa_accounts.core.errors import printable

Severity = Literal["error", "warning"]
# Not a rule: input that could not be read or used (a file check could not read, a base render
# refuses), in every report format.
INPUT_ERROR = "input-error"


@dataclass(frozen=True, order=True)
class ResourceRef:
    """The object a finding is about (SARIF's logical location)."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""

    def to_json(self) -> dict[str, str | None]:
        """Every key, null where nothing applies (a cluster-scoped object has no namespace)."""
        return {
            "apiVersion": self.api_version or None,
            "kind": self.kind or None,
            "name": self.name or None,
            "namespace": self.namespace or None,
        }


@dataclass(frozen=True)
class Location:
    """A place in a file of the repository: path relative to its root, 1-based line and column."""

    file: str
    line: int = 1
    column: int = 1

    def __post_init__(self) -> None:
        if not self.file.isprintable():
            object.__setattr__(self, "file", printable(self.file))


@dataclass(frozen=True)
class Finding:
    """What a rule found: rule, severity, where, the message, and related locations."""

    rule: str
    severity: Severity
    file: str
    line: int
    column: int
    message: str
    resource: ResourceRef | None = None
    related: tuple[Location, ...] = field(default=())

    def __post_init__(self) -> None:
        # What a finding says comes from the repository: escaped once, for every format.
        for name in ("file", "message"):
            value = getattr(self, name)
            if not value.isprintable():
                object.__setattr__(self, name, printable(value))

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.rule, self.message)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            # null when the finding is about no object (a file, an accounts.yaml entry)
            "resource": self.resource.to_json() if self.resource and self.resource.kind else None,
        }
        if self.related:
            out["related"] = [
                {"file": r.file, "line": r.line, "column": r.column} for r in self.related
            ]
        return out

    def text(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: [{self.rule}] {self.message}"

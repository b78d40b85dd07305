"""A finding: data that a rule returns about one place in the repository."""

from __future__ import annotations

from typing import Literal

from capa_accounts.core.errors import printable
from capa_accounts.core.record import Ordered, Record

Severity = Literal["error", "warning"]
# Not a rule: input that could not be read or used (a file check could not read, a base render
# refuses), in every report format.
INPUT_ERROR = "input-error"


class ResourceRef(Ordered):
    """The object a finding is about (SARIF's logical location)."""

    FIELDS = ("api_version", "kind", "name", "namespace")
    api_version: str
    kind: str
    name: str
    namespace: str

    def __init__(
        self, api_version: str = "", kind: str = "", name: str = "", namespace: str = ""
    ) -> None:
        set_ = object.__setattr__
        set_(self, "api_version", api_version)
        set_(self, "kind", kind)
        set_(self, "name", name)
        set_(self, "namespace", namespace)

    def to_json(self) -> dict[str, str | None]:
        """Every key, null where nothing applies (a cluster-scoped object has no namespace)."""
        return {
            "apiVersion": self.api_version or None,
            "kind": self.kind or None,
            "name": self.name or None,
            "namespace": self.namespace or None,
        }


class Location(Record):
    """A place in a file of the repository: path relative to its root, 1-based line and column."""

    FIELDS = ("file", "line", "column")
    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int = 1, column: int = 1) -> None:
        set_ = object.__setattr__
        set_(self, "file", file if file.isprintable() else printable(file))
        set_(self, "line", line)
        set_(self, "column", column)


class Finding(Record):
    """What a rule found: rule, severity, where, the message, and related locations."""

    FIELDS = ("rule", "severity", "file", "line", "column", "message", "resource", "related")
    rule: str
    severity: Severity
    file: str
    line: int
    column: int
    message: str
    resource: ResourceRef | None
    related: tuple[Location, ...]

    def __init__(
        self,
        rule: str,
        severity: Severity,
        file: str,
        line: int,
        column: int,
        message: str,
        resource: ResourceRef | None = None,
        related: tuple[Location, ...] = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "rule", rule)
        set_(self, "severity", severity)
        # What a finding says comes from the repository: escaped once, for every format.
        set_(self, "file", file if file.isprintable() else printable(file))
        set_(self, "line", line)
        set_(self, "column", column)
        set_(self, "message", message if message.isprintable() else printable(message))
        set_(self, "resource", resource)
        set_(self, "related", related)

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

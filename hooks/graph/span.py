"""Where a node or edge of the trust graph is written: lines of a repository file."""

from __future__ import annotations

from collections.abc import Callable

import yaml

from capa_accounts.core import yamlio
from capa_accounts.hooks.check.context import Obj, PathT


class Span:
    """Lines ``first``..``last`` (1-based, inclusive) of a repository file.

    A span made with ``lazy`` finds its lines only when a finding in its file asks: lines come
    from YAML nodes, and composing the nodes of every document cost most of ``graph`` on a
    clean fleet (a file render wrote is read without its nodes, repository.RenderedDocument).
    """

    __slots__ = ("file", "_lines", "_find")

    def __init__(self, file: str, first: int = 0, last: int = 0) -> None:
        self.file = file
        self._lines: tuple[int, int] | None = (first, last)
        self._find: Callable[[], tuple[int, int]] | None = None

    @property
    def first(self) -> int:
        return self.lines[0]

    @property
    def last(self) -> int:
        return self.lines[1]

    @property
    def lines(self) -> tuple[int, int]:
        if self._lines is None and self._find is not None:
            self._lines, self._find = self._find(), None
        return self._lines or (0, 0)

    def holds(self, file: str, line: int) -> bool:
        if file != self.file:
            return False
        first, last = self.lines
        return first <= line <= last

    @classmethod
    def lazy(cls, file: str, find: Callable[[], tuple[int, int]]) -> Span:
        span = cls(file)
        span._lines, span._find = None, find
        return span

    @classmethod
    def of(cls, file: str, start: yaml.Node, end: yaml.Node) -> Span:
        return cls(file, *node_lines(start, end))


def node_lines(start: yaml.Node, end: yaml.Node) -> tuple[int, int]:
    # end_mark is just past the node: at column 0 it is already the next line.
    last = end.end_mark.line + (0 if end.end_mark.column == 0 else 1)
    return start.start_mark.line + 1, max(last, start.start_mark.line + 1)


def role_arn_line(obj: Obj) -> Callable[[], int]:
    """The line of an identity's roleARN, found when asked (it composes the document)."""
    return lambda: obj.location(("spec", "roleARN")).line


def doc_span(obj: Obj) -> Span:
    return Span.lazy(obj.file, lambda: node_lines(obj.doc.node, obj.doc.node))


def spans_at(doc: yamlio.Document, path: PathT, *, key_only: bool = False) -> list[Span]:
    """The lines of the key at ``path`` through the end of its value (or the key's line)."""

    def find() -> tuple[int, int]:
        key, value = yamlio.node_at(doc.node, path)
        start = key if key is not None else value
        line = start.start_mark.line + 1
        return (line, line) if key_only else node_lines(start, value)

    return [Span.lazy(doc.file, find)]

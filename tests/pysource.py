"""The project's Python sources as syntax trees, parsed once per suite run: the layout, one-home
and git-runner tests walk the same modules (and only read the trees)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))

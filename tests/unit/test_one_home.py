"""One home per fact: the API groups, the suppression annotation and the generated tree's
paths are written once (core/resources.py, core/layout.py) and imported everywhere else."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from pysource import parsed

PROJECT = Path(__file__).resolve().parents[2]
FOLDERS = ("capa_accounts", "hooks", "kustomize_plugin")
# fact -> (its home, a pattern every string literal of the fact matches)
HOMES = {
    "API groups": ("capa_accounts/core/resources.py", re.compile(r"fluxcd\.io|x-k8s\.io")),
    "suppression annotation": (
        "capa_accounts/core/resources.py",
        re.compile(r"^capa-accounts\.dev/ignore$"),
    ),
    "generated tree": (
        "capa_accounts/core/layout.py",
        re.compile(r"^(overlays|clusters/management)$|^(overlays|bootstrap|base)/"),
    ),
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            found.add(id(body[0].value))
    return found


def literals(path: Path, pattern: re.Pattern[str]) -> list[str]:
    """The string literals of ``path`` (f-string parts included, docstrings and comments not)
    that ``pattern`` finds."""
    return [
        f"{path.name}:{lineno}: {value!r}"
        for lineno, value in _strings(path)
        if pattern.search(value)
    ]


@functools.cache
def _strings(path: Path) -> tuple[tuple[int, str], ...]:
    """Every string literal of ``path`` but its docstrings, read once per file (each fact's
    pattern is matched against the same literals)."""
    tree = parsed(path)
    docs = _docstrings(tree)
    return tuple(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    )


def test_each_fact_is_written_in_its_home_only() -> None:
    stray = [
        f"{fact}: {hit}"
        for fact, (home, pattern) in HOMES.items()
        for folder in FOLDERS
        for path in sorted((PROJECT / folder).rglob("*.py"))
        if path != PROJECT / home
        for hit in literals(path, pattern)
    ]
    assert not stray, "\n".join(stray)
    for home, pattern in HOMES.values():
        assert literals(PROJECT / home, pattern), home


def test_the_home_test_sees_a_stray_literal(tmp_path: Path) -> None:
    """Near miss: a group in a constant, a path in an f-string; a docstring stays quiet."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Reads kustomize.toolkit.fluxcd.io/v1 and overlays/<name>."""\n'
        'GROUP = "kustomize.toolkit.fluxcd.io"\n'
        'def f(name: str) -> str:\n    return f"overlays/{name}"\n',
        encoding="utf-8",
    )
    hits = [h for _, pattern in HOMES.values() for h in literals(bad, pattern)]
    assert [h.split(": ", 1)[1] for h in hits] == ["'kustomize.toolkit.fluxcd.io'", "'overlays/'"]

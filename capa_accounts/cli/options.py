"""What the commands of the command line share: the options ``--repo`` and ``-o``, the
repository root found once (and remembered, with the anchor that paths in output are relative
to, for the failures printed at the top), and the report written where ``-o`` says."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from capa_accounts import console, usecases
from capa_accounts.core.errors import CapaAccountsError

F = TypeVar("F", bound=Callable[..., Any])


def repo_option(func: F) -> F:
    return click.option(
        "--repo",
        "repo",
        default=None,
        type=click.Path(file_okay=False, path_type=Path),
        help="Repository root (holds accounts.yaml); default: the current "
        "directory or the first one above it with accounts.yaml.",
    )(func)


def repo_root(path: Path | None) -> Path:
    """The repository root (``usecases.locate``), remembered with the anchor that paths in
    output are relative to, for the failures printed at the top."""
    obj = click.get_current_context().find_root().obj
    root, anchor = usecases.locate(path)
    if isinstance(obj, dict):
        obj["root"], obj["anchor"] = root, anchor
    return root


def shift_error(ctx: click.Context, err: CapaAccountsError) -> None:
    obj = ctx.obj or {}
    usecases.shown_error(err, obj.get("root"), obj.get("anchor"))


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        "output",
        metavar="FILE",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        help="Write the report to FILE (atomically: old or new, never half) "
        "instead of stdout; - is stdout.",
    )(func)


def write_output(output: Path | None, text: str, color: bool | None = None) -> None:
    console.write_output(click.echo, output, text, color)

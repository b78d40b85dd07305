"""``check`` and ``render`` as hooks and CI run them, without loading the command line (click).

pre-commit runs ``capa-accounts render --check`` and ``capa-accounts check --base HEAD`` on
every commit and CI runs ``capa-accounts check``: short processes, in which importing click
costs about a tenth of a check of 300 accounts. ``parse`` matches their arguments against an
allow-list: the command, then only the options below, each at most once, as ``--name value``,
``--name=value`` or a flag, with a value that needs no check beyond the ones made here
(a choice among its choices; a ``--repo`` that is not a file, an ``--output`` that is not a
directory; no value that starts with ``-`` but ``-o -``). Anything else (``--help``, a typo,
an option only click parses, a value click would refuse, shell completion, a standard
stream that is missing or ASCII, which click re-encodes) is None, and ``entry`` hands it to
click, so that every usage message is click's. A matched command runs what its click
command runs (``console``), with the same defaults (tests/unit/test_direct.py holds both
ways to the same output).
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capa_accounts import console, usecases
from capa_accounts.core.errors import CapaAccountsError

Convert = Callable[[str], Any]  # a value as click converts it; None: click's to judge


def _text(value: str) -> str:
    return value


def _directory(value: str) -> Path | None:
    """``--repo``: click.Path(file_okay=False) refuses an existing regular file."""
    return None if os.path.isfile(value) else Path(value)


def _file(value: str) -> Path | None:
    """``-o``: click.Path(dir_okay=False, allow_dash=True) refuses an existing directory."""
    return None if value != "-" and os.path.isdir(value) else Path(value)


def _format(value: str) -> str | None:
    from capa_accounts.hooks.report.formats import FORMATS

    return value if value in FORMATS else None


def _color(value: str) -> str | None:
    return value if value in console.COLORS else None


# option: (the parameter of console's function, how its value converts; None: a flag)
_CHECK: dict[str, tuple[str, Convert | None]] = {
    "--repo": ("repo", _directory),
    "--format": ("fmt", _format),
    "-o": ("output", _file),
    "--output": ("output", _file),
    "--strict": ("strict", None),
    "--base": ("base_ref", _text),
    "--color": ("color_choice", _color),
    "-q": ("quiet", None),
    "--quiet": ("quiet", None),
    "--with-hooks": ("other_hooks", console.other_hooks),
}
_RENDER: dict[str, tuple[str, Convert | None]] = {
    "--repo": ("repo", _directory),
    "--check": ("check_only", None),
}
OPTIONS = {"check": _CHECK, "render": _RENDER}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The command and its parameters (as ``console`` takes them), or None: click's to parse."""
    if not argv or argv[0] not in OPTIONS or not _plain_streams():
        return None
    if "_CAPA_ACCOUNTS_COMPLETE" in os.environ:  # click's shell completion
        return None
    command, table = argv[0], OPTIONS[argv[0]]
    values: dict[str, Any] = {}
    rest = argv[1:]
    while rest:
        name, eq, attached = rest.pop(0).partition("=")
        if name not in table or (eq and not name.startswith("--")):
            return None  # click reads "-o=x" as the value "=x"
        parameter, convert = table[name]
        if parameter in values:
            return None  # given twice: click keeps the last; left to it
        if convert is None:  # a flag
            if eq:
                return None
            values[parameter] = True
            continue
        if eq:
            value = attached
        elif rest:
            value = rest.pop(0)
        else:
            return None
        if not value or (value.startswith("-") and value != "-"):
            return None
        if value == "-" and convert is not _file:
            return None
        converted = convert(value)
        if converted is None:
            return None
        values[parameter] = converted
    return command, values


def _plain_streams() -> bool:
    """Standard output and error are there and not ASCII (click writes through them as they
    are: click/_compat.py, ``_force_correct_text_stream`` and ``_stream_is_misconfigured``)."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        try:
            if not encoding or codecs.lookup(encoding).name == "ascii":
                return False
        except LookupError:
            return False
    return True


def run(argv: list[str]) -> int | None:
    """Run ``argv`` when ``parse`` matches it: its exit code; else None."""
    parsed = parse(argv)
    if parsed is None:
        return None
    command, values = parsed
    located: dict[str, Path | None] = {}

    def call() -> int:
        if command == "check":
            return console.check(console.echo, values.pop("repo", None), **values)
        root, located["anchor"] = usecases.locate(values.get("repo"))
        located["root"] = root
        return console.render(console.echo, root, values.get("check_only", False))

    def shown(err: CapaAccountsError) -> None:
        usecases.shown_error(err, located.get("root"), located.get("anchor"))

    try:
        return console.guarded(call, console.echo, shown=shown)
    except OSError as err:  # a reader that went away (`check | head`): as click ends
        if err.errno != errno.EPIPE:
            raise
        return 1

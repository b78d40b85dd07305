"""Arguments of the pre-commit entry points: every path pre-commit passes is a file.

pre-commit runs ``entry args... file...`` with no ``--`` before the files
(pre-commit/pre_commit/lang_base.py ``run_xargs``), so a staged file named ``-h``, ``--help``
or ``--repo=x`` would be read as an option by argparse and turn the hook into a no-op. Here an
argument that names an existing path is a file, whatever it looks like; only the others can be
options, and everything after ``--`` is a file.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_args`` with files kept files (its positional takes them)."""
    options: list[str] = []
    files: list[str] = []
    takes_value = {
        s
        for a in parser._actions
        for s in a.option_strings  # noqa: SLF001
        if a.nargs is None
        and not isinstance(
            a,
            (
                argparse._StoreTrueAction,  # noqa: SLF001
                argparse._HelpAction,
            ),
        )
    }  # noqa: SLF001
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            files.extend(args[i + 1 :])
            break
        if os.path.lexists(arg) or not arg.startswith("-"):
            files.append(arg)
        else:
            options.append(arg)
            if arg in takes_value and i + 1 < len(args):
                i += 1
                options.append(args[i])
        i += 1
    return parser.parse_args([*options, "--", *files])

"""The one hierarchy of failures: input that could not be read or is not valid.

A failure is not a finding: it stops the command with exit 2 and one line on stderr that names
the file (and line where known). Findings are data and live in ``capa_accounts.core.finding``.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped as ``repr`` escapes it.

    File names and YAML values come from the repository, which may be hostile: a newline would
    start a forged line (a GitHub ``::error`` workflow command, a fake "all checks passed"),
    an ANSI or OSC sequence would clear the line or set the terminal title, and a file name
    that is not UTF-8 (a lone surrogate from os.fsdecode) would make JSON and SARIF invalid.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    if "\udc80" <= char <= "\udcff":  # a byte that was not UTF-8 (the surrogateescape handler)
        return f"\\x{ord(char) - 0xDC00:02x}"
    return repr(char)[1:-1]


class CapaAccountsError(Exception):
    """Base of every failure the command line turns into exit 2."""

    def __init__(
        self,
        message: str,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        # Further failures of the same input, reported with this one (every error of
        # accounts.yaml in one run): one line each.
        self.more: tuple[CapaAccountsError, ...] = ()

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        return printable(f"{where}{self.message}")


class InputError(CapaAccountsError):
    """A file could not be read, is not valid YAML, or does not have the expected form."""


class ConfigError(InputError):
    """``accounts.yaml`` or a function config is not valid."""


class RenderError(CapaAccountsError):
    """``render`` cannot proceed without losing or corrupting a file."""


class GitError(CapaAccountsError):
    """A git reference or repository could not be read."""

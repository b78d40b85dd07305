"""The one hierarchy of failures: input that could not be read or is not valid.

A failure is not a finding: it stops the command with exit 2 and one line on stderr that names
the file (and line where known). Findings are data and live in ``capa_accounts.hooks.finding``.
"""

from __future__ import annotations


class CapaAccountsError(Exception):
    """Base of every failure the command line turns into exit 2."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        return f"{where}{self.message}"


class InputError(CapaAccountsError):
    """A file could not be read, is not valid YAML, or does not have the expected form."""


class ConfigError(InputError):
    """``accounts.yaml`` or a function config is not valid."""


class RenderError(CapaAccountsError):
    """``render`` cannot proceed without losing or corrupting a file."""


class GitError(CapaAccountsError):
    """A git reference or repository could not be read."""

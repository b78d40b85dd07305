"""Where the repository is: the directory that holds ``accounts.yaml``, found from below.

``capa-accounts check`` started in ``overlays/`` must judge the whole repository (the account
IDs in ``accounts.yaml`` included), not the overlays alone as if they were a hand-written
repository. Without ``--repo``, the commands walk up from the current directory to the first
directory with ``accounts.yaml``, stopping at the top of the git work tree (a ``.git``
directory, or the ``.git`` file of a worktree or submodule); a git work tree without
``accounts.yaml`` is judged from its top. Outside git with no ``accounts.yaml`` above, they
refuse rather than guess.
"""

from __future__ import annotations

import os
from pathlib import Path

from capa_accounts.core.errors import InputError
from capa_accounts.core.model import ACCOUNTS_FILE


def git_top(start: Path) -> Path | None:
    """The top of the git work tree that holds ``start``, or None outside git."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def find_root(start: Path) -> Path:
    start = start.resolve()
    top = git_top(start)
    for directory in (start, *start.parents):
        if (directory / ACCOUNTS_FILE).is_file():
            return directory
        if directory == top:
            return top
    raise InputError(
        f"no {ACCOUNTS_FILE} here or in a directory above, and not inside a git "
        "repository: run from the repository root or give --repo DIR",
        str(start),
    )


def shown_from(root: Path, anchor: Path, file: str) -> str:
    """``file`` (relative to ``root``) as a path relative to ``anchor``, with ``/``."""
    return Path(os.path.relpath(root.resolve() / file, anchor.resolve())).as_posix()

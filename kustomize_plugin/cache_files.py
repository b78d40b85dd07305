"""The files capa-accounts keeps between runs in the user's cache directory, and the one way
they are believed and written: only the current user's own, writable by nobody else, never a
link, each written whole (a reader never sees half of one). render's plan (``plan_cache``)
and the generated files known unchanged (``seen``) live there."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path | None:
    if os.environ.get("CAPA_ACCOUNTS_NO_CACHE"):
        return None
    own = os.environ.get("CAPA_ACCOUNTS_CACHE_DIR")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    directory = own or os.path.join(base, "capa-accounts")
    return Path(directory) if os.path.isabs(directory) else None


def owned(path: Path, kind: Callable[[int], bool] = stat.S_ISREG) -> bool:
    """``path`` is of ``kind`` (a regular file; ``stat.S_ISDIR``: a directory), not a link, the
    user's own and writable by nobody else."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return (
        kind(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def owned_dir(directory: Path) -> bool:
    return owned(directory, stat.S_ISDIR)


def replace(path: Path, text: str) -> None:
    """Write the entry whole, or leave the one before (a reader never sees half of one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not owned_dir(path.parent):
        return
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".plan-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)

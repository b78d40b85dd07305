"""Writing files so that every reader sees the old content or the new, never half a file.

A file is staged in a hidden sibling (``temporary_path``: no kustomization lists it, and render
removes a killed run's leftovers), made durable, then renamed over its target: rename(2) within
a directory replaces the target atomically (POSIX.1-2017, rename()). A staged file is created
afresh (``O_EXCL | O_NOFOLLOW``): a symlink planted under its name is never followed out of the
repository, a killed run's leftover is removed and created again.

Durability comes before the first rename, so that even a power cut leaves the old or the new
content. A few files are fsync'ed one by one. A batch (``stage``: render's hundreds of files)
is written whole first and made durable with one sync(2), which on Linux returns once the data
is written (sync(2), NOTES): a fsync per file waits for the disk once per file (about 1 ms
each on the benchmark's machine, more than planning the whole fleet at 1,800 files). The batch
is then renamed in the caller's order, so a run killed between two renames leaves every file
old or new, and listed files in place before what lists them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from capa_accounts.core.errors import RenderError

TMP_SUFFIX = ".capa-accounts-tmp"
# Below this many files one fsync each costs less than a sync(2), which also flushes whatever
# else the machine has written.
SYNC_BATCH = 16
# POSIX lets sync(2) return before the writes are done; Linux waits for them.
_SYNC_WAITS = sys.platform.startswith("linux")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def temporary_path(path: Path) -> Path:
    """Where ``path`` is staged: a hidden sibling no kustomization lists."""
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


def atomic_write(path: Path, text: str, display: str | None = None) -> None:
    """Write ``text`` to ``path``: old or new content, never half, even after a power cut."""
    write_all([(path, text, display)])


def write_all(files: Iterable[tuple[Path, str, str | None]]) -> None:
    """``stage`` the files, then put each in place in the order given."""
    items = list(files)
    with stage(items) as staged:
        for path, _text, _display in items:
            staged.commit(path)


class Staged:
    """Files written and durable beside their targets, not yet in place.

    Used as a context manager: whatever was not committed is removed on the way out.
    """

    def __init__(self) -> None:
        self._pending: dict[Path, tuple[Path, str]] = {}

    def add(self, path: Path, text: str, display: str | None, made: set[Path], *,
            fsync: bool) -> None:
        """Write ``text`` beside ``path``; ``made``: directories this batch already made."""
        name = display or str(path)
        tmp = temporary_path(path)
        self._pending[path] = (tmp, name)  # before writing: a failure removes it too
        _write_new(tmp, _encode(text, name), name, made, fsync=fsync)

    def commit(self, path: Path) -> None:
        """Rename the staged file over ``path``."""
        tmp, name = self._pending.pop(path)
        try:
            os.replace(tmp, path)
        except OSError as err:
            _remove(tmp)
            raise RenderError(f"cannot write: {err.strerror or err}", name) from err

    def discard(self) -> None:
        for tmp, _ in self._pending.values():
            _remove(tmp)
        self._pending.clear()

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def stage(files: Iterable[tuple[Path, str, str | None]]) -> Staged:
    """Write each ``(path, text, display name)`` beside its path and make all of it durable.

    A failure removes what was staged and raises ``RenderError`` naming the file: no target
    has been touched then.
    """
    staged = Staged()
    items = list(files)
    each = len(items) < SYNC_BATCH or not _SYNC_WAITS
    made: set[Path] = set()
    try:
        for path, text, display in items:
            staged.add(path, text, display, made, fsync=each)
        if items and not each:
            os.sync()
    except BaseException:
        staged.discard()
        raise
    return staged


def _encode(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise RenderError("cannot be written as UTF-8 (a lone surrogate in a string?)",
                          name) from err


def _write_new(tmp: Path, data: bytes, name: str, made: set[Path], *, fsync: bool) -> None:
    try:
        with _created(tmp, made) as fd:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if fsync:
                os.fsync(fd)
    except OSError as err:
        raise RenderError(f"cannot write: {err.strerror or err}", name) from err


@contextlib.contextmanager
def _created(tmp: Path, made: set[Path]) -> Iterator[int]:
    """A new file at ``tmp``; its directory made once per batch, a leftover replaced."""
    if tmp.parent not in made:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        made.add(tmp.parent)
    try:
        fd = os.open(tmp, _CREATE, 0o666)
    except FileExistsError:  # a killed run's leftover, or something planted: never opened
        os.unlink(tmp)
        fd = os.open(tmp, _CREATE, 0o666)
    try:
        yield fd
    finally:
        os.close(fd)


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)

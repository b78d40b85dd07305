"""Writing files so that every reader sees the old content or the new, never half a file, and a
command that fails changes nothing.

A file is staged in a hidden sibling (``temporary_path``: no kustomization lists it, and the
next writing command removes a killed run's leftovers), made durable, then renamed over its
target: rename(2) within a directory replaces the target atomically (POSIX.1-2017, rename()).
A staged file is created afresh (``O_EXCL | O_NOFOLLOW``): a symlink planted under its name is
never followed out of the repository, a killed run's leftover is removed and created again.
Its name carries the process id, so two processes never stage under the same name; it takes
the mode of the file it replaces (a 0600 file stays 0600).

Durability comes before the first rename, so that even a power cut leaves the old or the new
content. A few files are fsync'ed one by one. A batch (``stage``: render's hundreds of files)
is written whole first and made durable with one sync(2), which on Linux returns once the data
is written (sync(2), NOTES): a fsync per file waits for the disk once per file (about 1 ms
each on the benchmark's machine, more than planning the whole fleet at 1,800 files). The batch
is then renamed in the caller's order, so a run killed between two renames leaves every file
old or new, and listed files in place before what lists them.

One transaction per batch: before a file is replaced or deleted, its old content is kept under
a second temporary name (a hard link, no data copied). A failure, or SIGINT, SIGTERM or SIGHUP
at any point, puts every file back as it was and removes what was staged: the error then means
nothing changed. A signal is acted on between two steps, never in the middle of one (a rename
half done, or the putting back itself). Only SIGKILL (or a power cut) stops a batch halfway,
and even then each file is old or new.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import FrameType

from capa_accounts.core.errors import CapaAccountsError, RenderError

# Every temporary name is `.<file name>.<pid>[.old]` + TMP_SUFFIX; TMP_PATTERN matches them all
# (for .gitignore and docs/reliability.md), ``is_temporary`` tells them apart.
TMP_SUFFIX = ".capa-accounts-tmp"
TMP_PATTERN = f".*{TMP_SUFFIX}"
_OLD = ".old"
# Below this many files one fsync each costs less than a sync(2), which also flushes whatever
# else the machine has written.
SYNC_BATCH = 16
# POSIX lets sync(2) return before the writes are done; Linux waits for them.
_SYNC_WAITS = sys.platform.startswith("linux")
# What link(2) fails with on a file system without hard links (vfat, some FUSE mounts).
_NO_LINKS = {
    errno.EPERM,
    errno.EMLINK,
    errno.EXDEV,
    errno.ENOTSUP,
    getattr(errno, "EOPNOTSUPP", errno.ENOTSUP),
}
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
# Test-only fault injection: the process sends itself SIGTERM at step N of a batch (each file
# staged is a step, the sync one, then each file put in place or deleted, then the batch's end).
TERM_ENV = "CAPA_ACCOUNTS_TEST_TERM_AT_STEP"
# Batches this process has put in place: after one, a signal can no longer mean "nothing
# changed" (``core.lock``).
completed_batches = 0


def _temporary_name(path: Path, pid: int | None, kind: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid() if pid is None else pid}{kind}{TMP_SUFFIX}")


def temporary_path(path: Path, pid: int | None = None) -> Path:
    """Where this process (or ``pid``) stages ``path``: a hidden sibling no kustomization lists."""
    return _temporary_name(path, pid, "")


def backup_path(path: Path, pid: int | None = None) -> Path:
    """Where this process (or ``pid``) keeps ``path``'s old content until its batch ends."""
    return _temporary_name(path, pid, _OLD)


def is_temporary(name: str) -> bool:
    """A file name of ``temporary_path`` or ``backup_path``, of any process or version."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def remove_leftovers_of(path: Path) -> None:
    """The temporary files of ``path`` that a killed process left (none may be writing: the
    caller holds the repository's lock)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name.startswith(f".{path.name}.") and is_temporary(entry.name):
                _remove(Path(entry.path))


class Interrupted(CapaAccountsError):
    """A signal stopped a batch; every file it touched is back as it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}: nothing changed")
        self.signum = signum


def atomic_write(path: Path, text: str, display: str | None = None) -> None:
    """Write ``text`` to ``path``: old or new content, never half, even after a power cut."""
    write_all([(path, text, display)])


def write_all(files: Iterable[tuple[Path, str, str | None]]) -> None:
    """``stage`` the files, then put each in place in the order given: all or nothing."""
    items = list(files)
    with stage(items) as staged:
        for path, _text, _display in items:
            staged.commit(path)


class Staged:
    """Files written and durable beside their targets, not yet in place; a transaction.

    Used as a context manager: on the way out after a failure (or a signal, see ``checkpoint``)
    every committed file is put back as it was; whatever was not committed is removed.
    """

    def __init__(self, creates: frozenset[Path] = frozenset()) -> None:
        # Files the caller found absent: put in place only if still absent (a hard link that
        # fails when something appeared meanwhile), with no old content to keep.
        self._creates = creates
        self._pid = os.getpid()  # once: tempfile-style names are per process
        self._pending: dict[Path, tuple[Path, str]] = {}
        self._done: list[tuple[Path, Path | None]] = []  # (target, its old content's link)
        self._signal: int | None = None
        self._handlers: dict[int, object] = {}
        self._made: list[Path] = []  # directories this batch created
        self._step = 0
        self._term_at = int(os.environ.get(TERM_ENV, "-1"))

    def add(
        self, path: Path, text: str, display: str | None, made: set[Path], *, fsync: bool
    ) -> None:
        """Write ``text`` beside ``path``; ``made``: directories this batch already made."""
        self.checkpoint()
        name = display or str(path)
        tmp = temporary_path(path, self._pid)
        self._pending[path] = (tmp, name)  # before writing: a failure removes it too
        if tmp.parent not in made:
            self._make_directory(tmp.parent, name)
            made.add(tmp.parent)
        like = None if path in self._creates else path
        _write_new(tmp, _encode(text, name), name, fsync=fsync, like=like)

    def _make_directory(self, directory: Path, name: str) -> None:
        """``directory`` and what is missing above it, each made once (one mkdir for a
        directory whose parent exists, none for one that exists)."""
        try:
            directory.mkdir()
        except FileExistsError:
            return
        except FileNotFoundError:
            if directory == directory.parent:
                raise RenderError("cannot write: no such directory", name) from None
            self._make_directory(directory.parent, name)
            self._make_directory(directory, name)
            return
        except OSError as err:
            raise RenderError(f"cannot write: {err.strerror or err}", name) from err
        self._made.append(directory)

    def commit(self, path: Path) -> None:
        """Rename the staged file over ``path``, its old content kept until the batch ends."""
        self.checkpoint()
        tmp, name = self._pending[path]
        try:
            if path in self._creates:
                _link_new(tmp, path, name)
                self._done.append((path, None))
            else:
                self._done.append((path, _keep(path, self._pid)))
                os.replace(tmp, path)
            del self._pending[path]
        except OSError as err:
            raise RenderError(f"cannot write: {err.strerror or err}", name) from err

    def delete(self, path: Path, display: str) -> None:
        """Remove ``path`` (kept under its backup name until the batch ends)."""
        self.checkpoint()
        old = backup_path(path, self._pid)
        try:
            os.replace(path, old)
        except OSError as err:
            raise RenderError(f"cannot delete: {err.strerror or err}", display) from err
        self._done.append((path, old))

    def checkpoint(self) -> None:
        """Between two steps: stop here if a signal came (``Interrupted``)."""
        if self._step == self._term_at:
            os.kill(os.getpid(), signal.SIGTERM)
        self._step += 1
        if self._signal is not None:
            raise Interrupted(self._signal)

    def rollback(self) -> None:
        """Every committed file back as it was, newest first; a created file removed."""
        for path, old in reversed(self._done):
            with contextlib.suppress(OSError):
                if old is None:
                    os.unlink(path)
                else:
                    os.replace(old, path)
        self._done.clear()

    def discard(self) -> None:
        for tmp, _ in self._pending.values():
            _remove(tmp)
        self._pending.clear()

    def _finish(self) -> None:
        global completed_batches
        completed_batches += bool(self._done)
        for _path, old in self._done:
            if old is not None:
                _remove(old)
        self._done.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signal = self._signal or signum

    def __enter__(self) -> Staged:
        if not self._handlers and threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._handlers[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        """A signal after the last step is too late to stop the batch: it is complete, and the
        command ends as it would have."""
        try:
            if kind is None:
                self._finish()
            else:
                self.rollback()
            self.discard()
            if kind is not None:
                for directory in reversed(self._made):  # deepest first; only if empty
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            self._made.clear()
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
            self._handlers.clear()
        if kind is None and self._step == self._term_at:  # the step after the batch
            os.kill(os.getpid(), signal.SIGTERM)


def stage(files: Iterable[tuple[Path, str, str | None]], creates: Iterable[Path] = ()) -> Staged:
    """Write each ``(path, text, display name)`` beside its path and make all of it durable.

    ``creates``: the paths the caller found absent, created only if still absent (neither the
    mode of an old file to keep nor an old content to link aside: two system calls less each).
    The signals of the batch are caught from here on: use the result as a context manager.
    A failure removes what was staged and raises ``RenderError`` naming the file: no target
    has been touched then.
    """
    staged = Staged(frozenset(creates)).__enter__()
    items = list(files)
    each = len(items) < SYNC_BATCH or not _SYNC_WAITS
    made: set[Path] = set()
    try:
        for path, text, display in items:
            staged.add(path, text, display, made, fsync=each)
        if items and not each:
            os.sync()
        staged.checkpoint()
    except BaseException as err:
        staged.__exit__(type(err), err, err.__traceback__)
        raise
    return staged


def _encode(text: str, name: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise RenderError(
            "cannot be written as UTF-8 (a lone surrogate in a string?)", name
        ) from err


def _link_new(tmp: Path, path: Path, name: str) -> None:
    """Put the staged ``tmp`` at ``path``, which must not exist: a hard link fails when
    something appeared there since it was found absent (the rename render uses for updates
    would replace it); where the file system has no hard links, the rename after one lstat."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise RenderError(
            "appeared while render was writing: not replaced; render again", name
        ) from None
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        if os.path.lexists(path):
            raise RenderError(
                "appeared while render was writing: not replaced; render again", name
            ) from None
        os.replace(tmp, path)
        return
    with contextlib.suppress(OSError):  # in place: a leftover name is removed by the next run
        os.unlink(tmp)


def _keep(path: Path, pid: int | None = None) -> Path | None:
    """``path``'s current content under its backup name (None when there is none): a hard
    link, or where the file system has none, ``path`` itself moved there (it is put in place
    again by the rename that follows, or by the rollback)."""
    old = backup_path(path, pid)
    try:
        os.link(path, old, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except FileExistsError:  # a killed run's leftover under this process's id
        os.unlink(old)
        return _keep(path, pid)
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        os.replace(path, old)
    return old


def _write_new(tmp: Path, data: bytes, name: str, *, fsync: bool, like: Path | None) -> None:
    try:
        with _created(tmp) as fd:
            with contextlib.suppress(FileNotFoundError):
                if like is not None:  # None: a new file, no mode to keep
                    info = os.stat(like)
                    os.fchmod(fd, info.st_mode & 0o7777)  # keep the mode the file had
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
    except OSError as err:
        raise RenderError(f"cannot write: {err.strerror or err}", name) from err


@contextlib.contextmanager
def _created(tmp: Path) -> Iterator[int]:
    """A new file at ``tmp``, a leftover replaced."""
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

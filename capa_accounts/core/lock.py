"""One writer at a time: the repository's lock file, taken with flock(2).

``render`` and ``add-account`` hold it exclusively, ``check`` and ``render --check`` shared: a
reader waits for a writer to finish and then reads a consistent tree; writers wait for each
other and for readers. A command that cannot take it within ``LOCK_TIMEOUT_ENV`` seconds
(default 60) exits 2 naming the holder. The lock file exists only while a command holds it
(a file of that name that the tool did not write, committed by someone, is locked but never
rewritten or removed):
the last holder removes it, and whoever took a lock on a file that was removed meanwhile (the
classic race of removing lock files) takes it again on the new file: its open descriptor keeps
the old inode from being reused, so comparing inode numbers is enough. flock(2) locks go with
the open file and end when its last descriptor is closed, so a killed holder never leaves the
lock held (Linux man-pages, man2/flock.2). A reader that leaves converts its shared lock to an
exclusive one without waiting, which only succeeds when no one else holds it
(the conversion is not atomic, same page: it may lose the shared lock, which it gives up
anyway), and only then removes the file.

While the lock is held, SIGINT, SIGTERM and SIGHUP raise ``Interrupted`` so that a command
stops the same way for each of them: staged files removed, the lock file removed
(``filewrite`` defers them while a batch is renamed into place).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from capa_accounts.core import filewrite
from capa_accounts.core.errors import CapaAccountsError
from capa_accounts.core.filewrite import SIGNALS, Interrupted

LOCK_FILE = ".capa-accounts.lock"
LOCK_TIMEOUT_ENV = "CAPA_ACCOUNTS_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_POLL = 0.05
_OPEN = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class LockedError(CapaAccountsError):
    """Another command held the repository's lock for longer than the timeout."""


def _timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text or "a command reading the repository (capa-accounts check or render --check)"


def _open(path: Path, shared: bool) -> int | None:
    try:
        return os.open(path, _OPEN, 0o644)
    except OSError as err:
        if shared and err.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            return None  # a read-only checkout: nothing can write it either
        if err.errno == errno.ELOOP:
            raise CapaAccountsError(
                "is a symlink: refused as the repository's lock file", LOCK_FILE
            ) from err
        raise CapaAccountsError(
            f"cannot create the lock file: {err.strerror or err}", LOCK_FILE
        ) from err


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.lstat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _ours(fd: int) -> bool:
    """Whether the lock file holds what a capa-accounts command writes (or nothing yet): a
    file of another origin, committed by someone, is used as a lock but never rewritten or
    removed."""
    try:
        head = os.pread(fd, 256, 0)
    except OSError:
        return False
    return head == b"" or (head.startswith(b"pid ") and b"(capa-accounts " in head)


def _acquire(path: Path, command: str, shared: bool) -> tuple[int, bool] | None:
    """The locked descriptor, and whether the file is the tool's own (to rewrite and remove)."""
    deadline = time.monotonic() + _timeout()
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    while True:
        fd = _open(path, shared)
        if fd is None:
            return None
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"locked by {_holder(path)}: gave up after "
                    f"{_timeout():g} s ({LOCK_TIMEOUT_ENV})",
                    LOCK_FILE,
                ) from None
            time.sleep(_POLL)
            continue
        if not _same_file(fd, path):  # its holder removed it after we opened it
            os.close(fd)
            continue
        ours = _ours(fd)
        if ours and not shared:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} (capa-accounts {command})\n".encode())
        return fd, ours


def _release(path: Path, fd: int, ours: bool) -> None:
    """Remove the lock file when no one else holds it and it is the tool's, then let go."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a reader: only when it is the last
    except BlockingIOError:
        pass
    else:
        if ours and _ours(fd):
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(repo: Path, command: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the repository's lock (exclusive for a writer) for the duration of the block.

    A signal once the command's files are in place is too late to stop it: it finishes (its
    output) and releases the lock as usual."""
    written = filewrite.completed_batches

    def stop(signum: int, _frame: FrameType | None) -> None:
        if filewrite.completed_batches == written:
            raise Interrupted(signum)

    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            previous[signum] = signal.signal(signum, stop)
    try:
        path = repo / LOCK_FILE
        held = _acquire(path, command, shared)
        try:
            yield
        finally:
            if held is not None:
                _release(path, *held)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

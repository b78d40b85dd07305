"""The generated files known to hold exactly render's text, by what ``lstat`` says of them.

``render`` and ``check`` compare every file render writes with its planned text: at 1,000
accounts, 6,000 files read on every run, of which a commit changes one. What a file held when
it was read is kept beside render's plan (``plan_cache``) with its inode, device, size,
modification time and change time; a file that still shows all five is not read again, the
planned text stands for it. Git's index makes the same use of the same fields (Documentation/
technical/racy-git.txt).

Why it cannot be fooled:

- Any write to a file sets its change time (ctime) to the current time, and no system call
  sets it to anything else (stat(2), ``st_ctime``; utimensat(2) changes mtime, and ctime with
  it). A rename over the file, as editors and git write, gives another inode.
- Racy files: a write in the same clock tick as the ctime kept would leave all five equal. So
  a file is kept only when its ctime is more than a second older than the start of the run
  that read it: any later write has a later ctime. This also covers a write between the read
  and the ``lstat`` that records the file. A filesystem that keeps whole seconds only (its
  ctime a multiple of 1e9 ns) or no inode numbers is never kept. The margin assumes the
  filesystem's clock is this machine's, within a second: a network filesystem whose server
  runs behind by more should run with ``CAPA_ACCOUNTS_NO_CACHE=1``.
- The kept fields belong to one plan: a token written with the plan entry names it, and a
  new plan keeps them only for files whose planned text is the same.
- They live in the user's cache directory beside the plan entry, under the same ownership
  checks: nothing in the repository, and nothing another user wrote, is believed.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capa_accounts.kustomize_plugin.cache_files import owned, replace

_SECOND = 1_000_000_000
SETTLED_NS = _SECOND  # how much older than the run a file's ctime must be to be kept


def _fields(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_dev, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class Seen:
    """The files of one plan whose text on disk is the planned text, by their ``lstat``."""

    def __init__(self, path: Path | None, token: str, known: dict[str, list[int]]) -> None:
        self.path = path  # where they are kept (None: not kept)
        self.token = token  # the plan entry's
        self.known = known
        self.new: dict[str, list[int]] = {}
        # A file whose ctime is older than this is past any write of this run's clock tick.
        self.settled = time.time_ns() - SETTLED_NS

    def unchanged(self, path: str, rel: str) -> bool:
        """``path`` (the file ``rel``) is a regular file as it was when it held the planned
        text: that text stands for it, unread."""
        kept = self.known.get(rel)
        if kept is None:
            return False
        try:
            info = os.lstat(path)
        except OSError:
            return False
        return stat.S_ISREG(info.st_mode) and _fields(info) == kept

    def saw(self, path: str, rel: str) -> None:
        """``rel`` was just read and holds the planned text: keep it, if it is settled."""
        try:
            info = os.lstat(path)
        except OSError:
            return
        if (
            stat.S_ISREG(info.st_mode)
            and info.st_ino
            and info.st_ctime_ns % _SECOND
            and info.st_ctime_ns < self.settled
        ):
            self.new[rel] = _fields(info)

    def text(self, path: str, rel: str, planned: str, read: Callable[[], str | None]) -> str | None:
        """The text of ``rel``: ``planned`` while the file is unchanged since it held it, else
        what ``read`` returns (kept when it is the planned text). The one way render and
        check read a generated file."""
        if self.unchanged(path, rel):
            return planned
        text = read()
        if text is not None and text == planned:
            self.saw(path, rel)
        return text

    def save(self, planned: dict[str, str]) -> None:
        """Keep what this run saw, for the files the plan still writes; nothing when it saw
        nothing new (a run that read nothing writes nothing)."""
        if self.path is None or not self.new:
            return
        files = {rel: f for rel, f in {**self.known, **self.new}.items() if rel in planned}
        with contextlib.suppress(OSError):
            replace(self.path, json.dumps({"token": self.token, "files": files}))
        self.known, self.new = files, {}


def read(path: Path, token: str) -> Seen:
    """What is kept at ``path`` for the plan entry whose token is ``token`` (else nothing)."""
    known: dict[str, list[int]] = {}
    if owned(path):
        try:
            kept: Any = json.loads(path.read_text(encoding="utf-8"))
            if kept.get("token") == token and isinstance(kept.get("files"), dict):
                known = {
                    rel: f
                    for rel, f in kept["files"].items()
                    if isinstance(f, list) and len(f) == 5 and all(type(n) is int for n in f)
                }
        except (OSError, ValueError, AttributeError):
            known = {}
    return Seen(path, token, known)


def carried(before: Seen, planned: dict[str, str], old: dict[str, str], token: str) -> Seen:
    """``before``'s files for a new plan (token ``token``): those whose planned text is the
    same in the old plan (``old``) and the new one."""
    known = {
        rel: f for rel, f in before.known.items() if rel in planned and old.get(rel) == planned[rel]
    }
    seen = Seen(before.path, token, known)
    seen.new = dict(known)  # written with the new token on the next save
    return seen

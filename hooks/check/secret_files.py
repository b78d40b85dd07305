"""Reading files for the credential scan: every byte of every file, or a reported reason.

A leak does not announce itself as UTF-8 text: an editor on Windows saves UTF-16, a pasted
value brings a NUL byte, a log file passes the 8 MiB input bound, a key sits in a tracked
file under ``build/``. So a file is decoded whatever it holds (UTF-32 or UTF-16 by its BOM or its
pattern of NUL bytes, anything else as UTF-8 with bad bytes replaced and NUL as a space), a
file over the bound is scanned in chunks that overlap (a key cannot hide on a boundary), and
only what cannot be read at all (a FIFO, a device, a symlink out of the repository, a file
over ``SCAN_LIMIT``) is skipped, with the reason, for the caller to report.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from capa_accounts.core import git, reporoot
from capa_accounts.core.errors import GitError
from capa_accounts.core.finding import Finding
from capa_accounts.core.yamlio import MAX_FILE_BYTES

CHUNK = MAX_FILE_BYTES
OVERLAP = 4096  # bytes repeated between chunks: longer than any credential the scan knows
SCAN_LIMIT = 1 << 30  # bytes: a bigger file is a finding, not a scan of gigabytes

Scanner = Callable[[str, str], list[Finding]]
NOT_REGULAR = "not a regular file (a FIFO, socket or device)"


def _encoding(head: bytes) -> str:
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"  # before UTF-16: the UTF-32 LE BOM starts like UTF-16 LE's
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = head[: 4096 // 4 * 4]
    if len(sample) >= 16:  # UTF-32 without a BOM: ASCII text has three NULs in four bytes
        columns = [sample[i::4].count(0) for i in range(4)]
        quarter = len(sample) // 4
        if columns[0] == 0 and min(columns[1:]) > quarter * 0.8:
            return "utf-32-le"
        if columns[3] == 0 and min(columns[:3]) > quarter * 0.8:
            return "utf-32-be"
    if len(sample) >= 8:  # UTF-16 without a BOM: ASCII text has NUL in every other byte
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) * 0.4 // 2 and even == 0:
            return "utf-16-le"
        if even > len(sample) * 0.4 // 2 and odd == 0:
            return "utf-16-be"
    return "utf-8"


def decode(raw: bytes, encoding: str | None = None) -> str:
    """Text to scan from any bytes (never raises): UTF-16 or UTF-8, NUL read as a space."""
    encoding = encoding or _encoding(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode(encoding, errors="replace")
    return text.replace("\0", " ") if "\0" in text else text


def fails_closed(reason: str) -> bool:
    """Whether a file skipped for ``reason`` is a finding (CAPA-S003): one that could hold a
    key and was not read. A symlink's target is scanned where it is; a FIFO, socket or device
    is no file git holds."""
    missing = "No such file" in reason  # gone since it was listed: nothing left to leak
    return (reason.startswith("cannot read") and not missing) or "scan limit" in reason


def read_text(path: Path) -> tuple[str | None, str | None]:
    """(text, None) for a regular file up to ``CHUNK``; (None, reason) when it is skipped;
    (None, None) when it is bigger and ``scan_chunks`` must read it."""
    try:
        info = path.lstat()
    except OSError as err:
        return None, f"cannot read ({err.strerror or err})"
    if stat.S_ISLNK(info.st_mode):
        return None, "a symlink: its target is scanned where the repository holds it"
    if not stat.S_ISREG(info.st_mode):
        return None, NOT_REGULAR
    if info.st_size > SCAN_LIMIT:
        return None, (
            f"{info.st_size / 1048576:.0f} MiB is over the {SCAN_LIMIT >> 20} MiB scan limit"
        )
    if info.st_size > CHUNK:
        return None, None
    try:
        return decode(path.read_bytes()), None
    except OSError as err:
        return None, f"cannot read ({err.strerror or err})"


def scan_chunks(path: Path, rel: str, scan: Scanner) -> list[Finding]:
    """``scan`` over a big file in chunks that overlap by whole lines, positions as in the
    whole file."""
    found: dict[tuple[str, int, int], Finding] = {}
    lines_before = 0
    with open(path, "rb") as handle:
        encoding = _encoding(handle.read(4096))
        handle.seek(0)
        for chunk, overlap in _chunks(handle):
            for f in scan(rel, decode(chunk, encoding)):
                line = f.line + lines_before
                found.setdefault(
                    (f.rule, line, f.column),
                    Finding(f.rule, f.severity, f.file, line, f.column, f.message, f.resource),
                )
            lines_before += decode(chunk[: len(chunk) - overlap], encoding).count("\n")
    return sorted(found.values(), key=Finding.sort_key)


def _chunks(handle: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """(bytes, how many of its last bytes the next chunk repeats: whole lines)."""
    carry = b""
    while True:
        data = handle.read(CHUNK)
        if not data:
            if carry:
                yield carry, 0
            return
        chunk = carry + data
        if not handle.peek(1):  # type: ignore[attr-defined]
            yield chunk, 0
            return
        cut = chunk.rfind(b"\n", len(chunk) - OVERLAP) + 1 or len(chunk) - OVERLAP
        cut += (len(chunk) - cut) % 4  # whole UTF-16 and UTF-32 code units
        yield chunk, len(chunk) - cut
        carry = chunk[cut:]


def scan_list(root: Path, files: list[str], read: set[str]) -> tuple[list[str], list[str]]:
    """What the credential scan (CAPA-S001 to S003) reads, listed while the repository loads:
    every file the walk listed, then those git tracks where the walk does not go (build/,
    venv/...) and that are still in the work tree (render removes files); and a warning for
    each that is no file at all to scan (a FIFO, socket or device, which git cannot hold:
    nothing a key could hide in). ``read``: files already read, regular by that token."""
    listed = set(files)
    tracked = [
        rel for rel in tracked_files(root) if rel not in listed and os.path.lexists(root / rel)
    ]
    scanned = [*files, *tracked]
    warnings = [
        f"{rel}: not scanned for credentials: {NOT_REGULAR}"
        for rel in scanned
        if rel not in read and _special(root / rel)
    ]
    return scanned, warnings


def _special(path: Path) -> bool:
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False  # the scan names what it cannot read (CAPA-S003)
    return not stat.S_ISLNK(mode) and not stat.S_ISREG(mode)


def tracked_files(root: Path) -> list[str]:
    """Files git tracks below ``root`` (relative to it), or [] outside a git work tree: the
    scan reads them even where ``check``'s walk skips a tool directory (build/, venv/...)."""
    if "GIT_DIR" not in os.environ and reporoot.git_top(root.resolve()) is None:
        return []  # no work tree git could find (no .git here or above): nothing to ask it
    try:
        listed = git.run(root, "ls-files", "-z", where=str(root))
    except GitError:
        return []
    if listed.returncode != 0:
        return []
    return [p.decode("utf-8", "surrogateescape") for p in listed.stdout.split(b"\0") if p]

"""Reading git objects for ``check --base``: options that keep git off the network, and
blobs streamed from one ``git cat-file --batch`` process in bounded chunks."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from capa_accounts.core import git
from capa_accounts.core.errors import GitError


def cat_file(root: Path, blobs: list[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for blob, chunks in stream_blobs(root, blobs):
        out[blob] = b"".join(chunks)
    return out


CHUNK = 1 << 20


def stream_blobs(root: Path, blobs: list[str]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """(blob id, its content in chunks of at most 1 MiB) from one ``git cat-file --batch``.

    Read as it comes, so memory holds one chunk, not the whole output; each content iterator
    must be consumed before the next blob. A missing blob ("<id> missing") is left out.
    """
    if not blobs:
        return
    try:
        process = git.popen(
            root,
            ["cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as err:
        raise GitError(f"git could not run: {err}", "--base") from err
    if process.stdin is None or process.stdout is None:  # pragma: no cover - PIPE gives both
        raise GitError("git cat-file started without pipes", "--base")
    feeder = threading.Thread(target=_feed, args=(process.stdin, blobs), daemon=True)
    feeder.start()
    stdout = process.stdout
    try:
        for _ in blobs:
            header = stdout.readline().split()
            if not header:
                break
            if len(header) < 3:  # "<id> missing": a shallow clone
                continue
            left = int(header[2])

            def chunks(left: int = left) -> Iterator[bytes]:
                while left > 0:
                    data = stdout.read(min(left, CHUNK))
                    if not data:
                        return
                    left -= len(data)
                    yield data

            body = chunks()
            yield header[0].decode(), body
            for _rest in body:  # the caller stopped early: skip what it left
                pass
            stdout.read(1)  # the content is followed by a newline
    finally:
        stdout.close()
        process.kill()
        stderr = process.stderr.read() if process.stderr else b""
        process.wait()
        feeder.join()
    if process.returncode not in (0, -9) and stderr:
        raise GitError(
            f"git cat-file failed: {stderr.decode('utf-8', 'replace').strip()}", "--base"
        )


def _feed(stdin: Any, blobs: list[str]) -> None:
    with contextlib.suppress(OSError):
        for blob in blobs:
            stdin.write(f"{blob}\n".encode())
        stdin.close()

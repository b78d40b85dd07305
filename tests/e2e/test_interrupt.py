"""Ctrl-C outside a write ends the process by SIGINT, as SIGTERM and SIGHUP end it: a shell or
CI runner sees an interrupt (exit 130), never click's "Aborted!" with exit 1, which reads as
"findings" to a script that checks for 1."""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
import time
from pathlib import Path


def _wait_for_the_read(pid: int, limit: float = 30.0) -> None:
    """Until the process blocks reading its standard input (Linux: ``/proc/<pid>/syscall``
    shows read(2), number 0 on x86-64, on fd 0), so that the signal finds it there and not
    still starting on a loaded machine; elsewhere, a pause past start-up."""
    syscall = Path(f"/proc/{pid}/syscall")
    if platform.machine() != "x86_64":  # read(2) has another number there
        time.sleep(1.5)
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            fields = syscall.read_text().split()
        except OSError:
            time.sleep(1.5)
            return
        if fields[:2] == ["0", "0x0"]:
            return
        time.sleep(0.02)
    raise AssertionError("check - never started reading its standard input")


def test_ctrl_c_while_reading_stdin_dies_of_sigint() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "capa_accounts.cli", "check", "-"],
        stdin=subprocess.PIPE,  # held open: check waits for the stream's end
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_the_read(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err)
    assert b"Aborted" not in err and b"Traceback" not in err

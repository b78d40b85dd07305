"""Ctrl-C outside a write ends the process by SIGINT, as SIGTERM and SIGHUP end it: a shell or
CI runner sees an interrupt (exit 130), never click's "Aborted!" with exit 1, which reads as
"findings" to a script that checks for 1."""

from __future__ import annotations

import signal
import subprocess
import sys
import time


def test_ctrl_c_while_reading_stdin_dies_of_sigint() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "capa_accounts.cli", "check", "-"],
        stdin=subprocess.PIPE,  # held open: check waits for the stream's end
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)  # past start-up, into the read
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGINT, (proc.returncode, err)
    assert b"Aborted" not in err and b"Traceback" not in err

"""One child process measured as a user would see it: wall time, CPU time and peak memory.

``os.wait4`` gives the rusage of that one child (not of every child so far, as
``RUSAGE_CHILDREN`` would): its CPU time (user + system, seconds) and its peak resident set
(``ru_maxrss``, KiB on Linux). CPU time is what to compare on a shared machine, where wall
time also counts waiting for a core.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mib: float


class MeasureError(Exception):
    """A measured command failed: its numbers would be meaningless."""


def measured(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> Sample:
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None  # noqa: S101 - PIPE above
    said = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode not in ok:
        shown = " ".join(Path(a).name if os.sep in a else a for a in argv[:5])
        raise MeasureError(
            f"{shown} exited {proc.returncode}: {said.decode(errors='replace').strip()[-500:]}"
        )
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def rounds(runs: int, steps: Mapping[str, Callable[[], Sample]]) -> dict[str, Sample]:
    """Every step once per round, interleaved (a load spike hits them all); the medians.
    A first round is not counted: it fills the bytecode and file caches for every step alike."""
    for step in steps.values():
        step()
    seen: dict[str, list[Sample]] = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            seen[name].append(step())
    return {
        name: Sample(
            statistics.median(s.wall for s in samples),
            statistics.median(s.cpu for s in samples),
            max(s.rss_mib for s in samples),
        )
        for name, samples in seen.items()
    }

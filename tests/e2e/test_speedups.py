"""The speed-up benchmark's smoke run: `benchmarks/speedups.py --quick` times every hand-made
fast path against the plain way and checks both give the same result (it exits non-zero on any
difference: the block emitter's text against PyYAML's, the decoders' data, render's plan)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import PROJECT

pytestmark = pytest.mark.bench

ROWS = (
    "dump, block emitter",
    "dump, nodes for the C emitter",
    "compose, remembered tags",
    "decode, tree without aliases",
    "check, cycle collector off",
    "graph (dot), cycle collector off",
    "render, plain-data copy: the copies alone",
)


def test_quick_run_prints_a_ratio_for_every_speed_up() -> None:
    run = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "speedups.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for row in ROWS:
        (line,) = [ln for ln in run.stdout.splitlines() if ln.startswith(row)]
        assert re.search(r"\d+\.\d\dx$", line), line

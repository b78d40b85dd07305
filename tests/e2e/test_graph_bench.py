"""The graph benchmark's smoke run: `benchmarks/graph_bench.py --quick` drives the real
commands end to end and prints every row; no timing is asserted (that is the benchmark's)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT

pytestmark = pytest.mark.bench


def test_quick_run_prints_every_row() -> None:
    proc = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "graph_bench.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:4] == ["accounts", "measure", "runs", "median"]
    for size in ("10", "20"):
        for measure in (
            "check (whole process), floor of graph",
            "graph --format dot (whole process)",
            "graph --account x3 (Mermaid)",
            "drawing alone after check, in-process (DOT)",
        ):
            assert any(line.startswith(size) and measure in line for line in lines), measure
    assert any(
        line.startswith("20/10") and "drawing seconds per 1,000 accounts" in line for line in lines
    )
    assert "'must' rows hold" in lines[-1]

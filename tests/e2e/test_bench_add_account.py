"""The add-account benchmark's smoke run: `benchmarks/add_account.py --quick` measures its row.

No timing is asserted (timings belong to the benchmark): the run proves the script still drives
the real add-account and render end to end and prints the ratio.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT

pytestmark = pytest.mark.bench


def test_quick_run_prints_the_add_account_row_with_its_ratio() -> None:
    run = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "add_account.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if "add-account (whole process)" in line)
    cells = row.split()
    assert cells[0] == "10" and "render" in cells
    ratio = cells[cells.index("render") + 2]
    assert float(ratio) > 0
    assert run.stdout.splitlines()[-1].startswith("targets: ")

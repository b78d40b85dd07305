"""The benchmark's smoke run: `benchmarks/bench.py --quick` measures every row and prints them.

No timing is asserted (timings belong to the benchmark, not to a deterministic suite); the
run proves that the benchmark still drives the real commands end to end, and that the
pre-commit build hook builds only the overlay a change touches.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import PROJECT

pytestmark = pytest.mark.bench

BENCH = PROJECT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_quick_run_exits_zero_with_a_table(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stderr
    header = quick_run.stdout.splitlines()[1].split()
    assert header[:4] == ["accounts", "measure", "runs", "median"], quick_run.stdout
    assert "'must' rows hold" in quick_run.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "row",
    [
        "floor: C loader reads",
        "check (whole process)",
        "render, every generated file written (fresh)",
        "render after adding an account to the fleet",
        "render --check (plans every account, writes nothing)",
        "check in-process, schema validation off",
        "check in-process, schema validation on",
        "fn cold start, plain: capa-accounts fn",
        "fn cold start, with comments (round trip): capa-accounts-fn",
        "pre-commit build of all overlays",
    ],
    ids=[
        "floor",
        "check",
        "render",
        "render-one-more",
        "render-check",
        "schemas-off",
        "schemas-on",
        "fn",
        "fn-round-trip",
        "build-all",
    ],
)
def test_quick_run_measures_every_row(
    quick_run: subprocess.CompletedProcess[str], row: str
) -> None:
    lines = [line for line in quick_run.stdout.splitlines() if row in line]
    assert lines, quick_run.stdout
    # Each measured row shows a time in seconds: a number with three decimals.
    assert any(cell.replace(".", "", 1).isdigit() and "." in cell for cell in lines[0].split())


def test_one_changed_overlay_file_builds_one_overlay(
    quick_run: subprocess.CompletedProcess[str],
) -> None:
    row = next(
        line
        for line in quick_run.stdout.splitlines()
        if "pre-commit build after changing overlays/staging/identity.yaml" in line
    )
    assert "1 kustomize build(s) (affected: overlays/staging)" in row
    every = next(
        line for line in quick_run.stdout.splitlines() if "pre-commit build of all overlays" in line
    )
    assert "11 kustomize build(s)" in every  # 10 accounts and the management overlay


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_syscalls_smoke_run_compares_two_installed_trees() -> None:
    """benchmarks/syscalls.py installs the previous commit and this tree and counts both."""
    run = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "syscalls.py"), "--accounts", "3"]
        + ["--against", "HEAD"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    total = next(line for line in lines if line.startswith("total"))
    assert int(total.split()[1].replace(",", "")) > 100
    assert lines[-1].startswith("target: no more than HEAD")

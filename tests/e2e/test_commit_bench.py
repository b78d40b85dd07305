"""The smoke runs of the check --base and commit benchmarks: `benchmarks/base_bench.py` and
`benchmarks/commit_bench.py` on a small fleet drive the real commands (git, pre-commit with
the configuration init writes) end to end and print every row; no timing is asserted (that is
the benchmarks')."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT

pytestmark = pytest.mark.bench


def _run(script: str, tmp_path: Path, *args: str) -> list[str]:
    bin_dir = str(Path(sys.executable).parent)
    proc = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / script), "--runs", "1", "--against", "none"]
        + list(args),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_base_bench_prints_each_measure_with_memory(tmp_path: Path) -> None:
    lines = _run("base_bench.py", tmp_path, "--accounts", "10")
    for measure in (
        "floor",
        "now: check ",
        "now: check --base HEAD, no change",
        "now: check --base HEAD, overlays/staging/identity.yaml edited",
    ):
        row = next((line for line in lines if line.strip().startswith(measure)), None)
        assert row is not None, (measure, lines)
        assert " s cpu " in row and " MiB " in row
    assert lines[-1].startswith("target: check --base at most 2.5x")


def test_commit_bench_runs_pre_commit_on_one_staged_file(tmp_path: Path) -> None:
    lines = _run("commit_bench.py", tmp_path, "--accounts", "10")
    assert "overlays/staging/identity.yaml edited and staged" in lines[1]
    for measure in (
        "now: pre-commit run --files (the commit)",
        "now:   render --check",
        "now:   check --base HEAD --with-hooks",
        "now:   capa-accounts-build <file>",
        "now:   capa-accounts-scan-secrets <file>",
    ):
        assert any(line.strip().startswith(measure) for line in lines), (measure, lines)

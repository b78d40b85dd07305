"""Platforms without fcntl (Windows): the commands that read work, those that write refuse.

Simulated on this machine by blocking the import of fcntl before capa_accounts is imported (a
``None`` in ``sys.modules`` makes ``import fcntl`` raise ImportError, as on Windows)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_fn import base_items, resource_list

_RUN = """
import sys
sys.modules["fcntl"] = None
from capa_accounts.cli import main
main(sys.argv[1:], prog_name="capa-accounts")
"""


def _cli(
    *args: str, cwd: Path, stdin: str = "", blocked: bool = True
) -> subprocess.CompletedProcess:
    code = _RUN if blocked else _RUN.replace('sys.modules["fcntl"] = None', "")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [["explain", "CAPA-T001"], ["check"], ["render", "--check"], ["--version"]],
    ids=["explain", "check", "render-check", "version"],
)
def test_reading_commands_work_without_fcntl(example_repo: Path, args: list[str]) -> None:
    result = _cli(*args, cwd=example_repo)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "fcntl" not in result.stderr
    assert not (example_repo / ".capa-accounts.lock").exists()


def test_fn_works_without_fcntl(tmp_path: Path) -> None:
    result = _cli("fn", cwd=tmp_path, stdin=resource_list(base_items()))
    assert result.returncode == 0, result.stderr
    assert "AWSClusterRoleIdentity" in result.stdout


def test_writing_commands_refuse_in_one_line_without_a_lock(example_repo: Path) -> None:
    before = (example_repo / "accounts.yaml").read_text(encoding="utf-8")
    result = _cli("render", cwd=example_repo)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "neither flock(2) nor msvcrt.locking" in result.stderr
    assert (example_repo / "accounts.yaml").read_text(encoding="utf-8") == before


def test_near_miss_with_fcntl_render_still_writes(example_repo: Path) -> None:
    result = _cli("render", cwd=example_repo, blocked=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "up to date\n"

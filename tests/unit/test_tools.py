"""The tools see the whole program: ruff lints and formats every file, mypy checks every module
of the package as it installs (hooks/ and kustomize_plugin/ included), and the repository's
own pre-commit config runs the same three."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import PROJECT

TYPECHECK = PROJECT / ".ci" / "typecheck.py"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=PROJECT, capture_output=True, text=True, check=False, timeout=600
    )


def _ruff() -> str:
    exe = shutil.which("ruff")
    assert exe, "ruff is installed with the test extra"
    return exe


@pytest.mark.e2e  # ruff
def test_ruff_check_passes_over_the_tree() -> None:
    run = _run(_ruff(), "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.e2e  # ruff
def test_ruff_format_leaves_every_file_as_it_is() -> None:
    run = _run(_ruff(), "format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.e2e  # mypy
def test_mypy_checks_every_module_of_the_installed_layout() -> None:
    run = _run(sys.executable, str(TYPECHECK))
    assert run.returncode == 0, run.stdout + run.stderr
    modules = {
        p
        for folder in ("capa_accounts", "hooks", "kustomize_plugin")
        for p in (PROJECT / folder).rglob("*.py")
    }
    # mypy counts the source files it checked: every one of the three folders.
    assert f"no issues found in {len(modules)} source files" in run.stdout, run.stdout


@pytest.mark.e2e  # mypy
def test_mypy_reports_an_error_in_hooks_with_the_checkouts_path(tmp_path: Path) -> None:
    """The near miss of a silent pass: a type error in hooks/ (a folder mypy never saw over the
    checkout) is found and named by the path an editor opens."""
    copy = tmp_path / "project"
    for name in ("capa_accounts", "hooks", "kustomize_plugin", ".ci", ".mypy_cache"):
        if (PROJECT / name).is_dir():  # .mypy_cache: a warm start, when there is one
            shutil.copytree(
                PROJECT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__")
            )
    shutil.copy(PROJECT / "pyproject.toml", copy)
    hookargs = copy / "hooks" / "hookargs.py"
    lines = len(hookargs.read_text(encoding="utf-8").splitlines())
    with hookargs.open("a", encoding="utf-8") as out:
        out.write('\n\ndef _count() -> int:\n    return "three"\n')
    run = subprocess.run(
        [sys.executable, str(copy / ".ci" / "typecheck.py")],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"hooks/hookargs.py:{lines + 4}: error: Incompatible return value type" in run.stdout, (
        run.stdout
    )
    assert "capa_accounts/hooks" not in run.stdout


@pytest.mark.parametrize(
    ("hook_id", "entry"),
    [
        ("ruff-check", "ruff check"),
        ("ruff-format", "ruff format --check"),
        ("mypy", "python .ci/typecheck.py"),
    ],
)
def test_the_repositorys_pre_commit_config_runs_the_tools(hook_id: str, entry: str) -> None:
    config = yaml.safe_load((PROJECT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    hook = hooks[hook_id]
    # local and system: the suite's tools, no download when pre-commit installs the hooks
    assert hook["language"] == "system"
    assert hook["entry"].startswith(entry)
    assert "python" in hook["types_or"]

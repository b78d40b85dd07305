"""Every git call goes through one hardened runner (capa_accounts/core/git.py).

A pull request controls its repository's ``.git/config`` when CI checks it out: every program
that file can name (an fsmonitor hook, a pager, an external diff, a textconv driver, a hook
directory, an ssh command, an upload-pack) must never run, whichever command reads the
repository. Each hostile program here writes a marker file; no command may leave one.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git as run_git
from pysource import parsed

from capa_accounts.core import git

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _hostile(repo: Path, marker: Path) -> None:
    """Every program setting of .git/config points at a script that writes ``marker``."""
    script = repo / ".git" / "evil.sh"
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\ncat >/dev/null 2>&1\nexit 0\n')
    script.chmod(0o755)
    hooks = repo / ".git" / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "post-checkout", "reference-transaction", "pre-commit"):
        (hooks / hook).write_text(script.read_text())
        (hooks / hook).chmod(0o755)
    (repo / ".gitattributes").write_text("* diff=evil filter=evil\n")
    settings = {
        "core.fsmonitor": str(script),
        "core.pager": str(script),
        "pager.ls-files": str(script),
        "pager.cat-file": str(script),
        "diff.external": str(script),
        "diff.evil.textconv": str(script),
        "filter.evil.clean": str(script),
        "filter.evil.smudge": str(script),
        "core.hooksPath": str(hooks),
        "core.sshCommand": str(script),
        "core.askPass": str(script),
        "remote.origin.url": "ext::" + str(script),
        "remote.origin.uploadpack": str(script),
        "remote.origin.promisor": "true",
        "extensions.partialClone": "origin",
        "protocol.allow": "always",
    }
    for key, value in settings.items():
        run_git(repo, "config", key, value)


@pytest.fixture
def hostile_repo(example_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    run_git(example_repo, "init", "-q")
    run_git(example_repo, "add", "-A")
    run_git(example_repo, "commit", "-q", "-m", "fleet")
    marker = tmp_path / "PWNED"
    _hostile(example_repo, marker)
    # a change since the commit, so that --base has something to compare and the index is stale
    cluster = example_repo / "overlays" / "staging" / "kustomization.yaml"
    cluster.write_text(cluster.read_text() + "# touched\n")
    return example_repo, marker


COMMANDS = {
    "check": ["capa-accounts", "check"],
    "check --base": ["capa-accounts", "check", "--base", "HEAD"],
    "render --check": ["capa-accounts", "render", "--check"],
    "render": ["capa-accounts", "render"],
    "add-account": [
        "capa-accounts",
        "add-account",
        "qa",
        "--account-id",
        "444444444444",
        "--region",
        "eu-west-1",
    ],
    "graph": ["capa-accounts", "graph", "--format", "mermaid"],
    "scan hook": ["capa-accounts-scan-secrets", "accounts.yaml"],
    "build hook": ["capa-accounts-build"],
}


@pytest.mark.e2e  # the commands as subprocesses, real git
@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_no_program_named_by_the_repository_git_config_runs(
    hostile_repo: tuple[Path, Path], command: str
) -> None:
    repo, marker = hostile_repo
    argv = COMMANDS[command]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert not marker.exists(), f"{command} ran a program from .git/config: {marker.read_text()}"


@pytest.mark.e2e  # real git
def test_the_hostile_configuration_does_run_programs_without_the_runner(
    hostile_repo: tuple[Path, Path],
) -> None:
    """Near miss: the same repository with a plain ``git ls-files`` runs the fsmonitor hook,
    so the test above proves the runner, not a harmless configuration."""
    repo, marker = hostile_repo
    subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, check=False)
    assert marker.exists()
    marker.unlink()
    git.run(repo, "ls-files", "-z")
    assert not marker.exists()


def test_the_runner_drops_external_programs_from_the_environment() -> None:
    env = git.env({"GIT_EXTERNAL_DIFF": "x", "GIT_SSH_COMMAND": "x", "GIT_INDEX_FILE": "i"})
    assert "GIT_EXTERNAL_DIFF" not in env and "GIT_SSH_COMMAND" not in env
    assert env["GIT_INDEX_FILE"] == "i"  # a pre-commit hook's temporary index is honoured
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_NO_LAZY_FETCH"] == "1"


def _spawns_git(path: Path) -> list[int]:
    """Lines of ``path`` that name the ``git`` program in a list or tuple (an argv)."""
    lines = []
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.List | ast.Tuple) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value == "git":
                lines.append(node.lineno)
    return lines


def test_only_the_runner_spawns_git() -> None:
    found = {
        str(path.relative_to(PROJECT)): lines
        for folder in ("capa_accounts", "hooks", "kustomize_plugin")
        for path in sorted((PROJECT / folder).rglob("*.py"))
        if (lines := _spawns_git(path))
    }
    assert found == {"capa_accounts/core/git.py": found.get("capa_accounts/core/git.py", [])}
    assert found["capa_accounts/core/git.py"]


def test_the_argv_finder_sees_a_git_call(tmp_path: Path) -> None:
    """Near miss of the test above: a module that runs git itself is found."""
    bad = tmp_path / "bad.py"
    bad.write_text('import subprocess\nsubprocess.run(["git", "ls-files"])\n')
    assert _spawns_git(bad) == [2]
    assert shutil.which("git")

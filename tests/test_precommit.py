"""The hooks under the real pre-commit framework, from this repository at its current commit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT, edit, line_of

GIT = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


def _head() -> str | None:
    result = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PRE_COMMIT_HOME for the suite: hook environments are installed once."""
    return Path(
        os.environ.get("CAPA_ACCOUNTS_PRE_COMMIT_HOME")
        or tmp_path_factory.mktemp("pre-commit-home")
    )


def pre_commit(repo: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pre-commit")
    assert exe, "pre-commit is installed with the test extra"
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run(
        [exe, "run", "--color", "never", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_hooks_pass_on_init_and_catch_an_injected_defect(
    example_repo: Path, pre_commit_home: Path
) -> None:
    config = example_repo / ".pre-commit-config.yaml"
    text = config.read_text()
    assert "repo: https://github.com/capa-accounts/capa-accounts" in text  # what init writes
    config.write_text(
        text.replace("https://github.com/capa-accounts/capa-accounts", str(PROJECT)).replace(
            "rev: v0.1.0", f"rev: {_head()}"
        )
    )
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "commit", "-qm", "init"], check=True)

    clean = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    identity = example_repo / "overlays" / "staging" / "identity.yaml"
    edit(identity, "  allowedNamespaces:\n    list:\n    - staging\n", "  allowedNamespaces: {}\n")
    line = line_of(identity, "allowedNamespaces")
    broken = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert broken.returncode == 1
    assert f"overlays/staging/identity.yaml:{line}:3: [CAPA-I002]" in broken.stdout, broken.stdout
    assert "CAPA-R001" in broken.stdout  # the hand edit also drifts from accounts.yaml + base/
    assert "Traceback" not in broken.stdout + broken.stderr

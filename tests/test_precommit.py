"""The hooks under the real pre-commit framework, from this repository at its current commit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT, edit, line_of

from capa_accounts.core import version

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


def _release_clone(tmp_path: Path) -> Path:
    """A local clone of this repository whose HEAD carries the release tag, as the README's
    release procedure makes it: pre-commit fetches `repo:` at `rev:` with git, offline."""
    clone = tmp_path / "capa-accounts.git"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(PROJECT), str(clone)], check=True)
    subprocess.run([*GIT, "-C", str(clone), "tag", "-f", "-a", version.release_tag(), "-m",
                    "release"], check=True, capture_output=True)
    return clone


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_hooks_pass_on_init_and_catch_an_injected_defect(
    example_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    config = example_repo / ".pre-commit-config.yaml"
    text = config.read_text()
    # What init writes, unchanged but for where the repository is: its rev is the release.
    assert "repo: https://github.com/capa-accounts/capa-accounts\n" in text
    assert f"    rev: {version.release_tag()}\n" in text
    config.write_text(text.replace("https://github.com/capa-accounts/capa-accounts",
                                   str(_release_clone(tmp_path))))
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


@pytest.mark.skipif(_head() is None, reason="the project is not a git checkout with a commit")
def test_a_rev_that_is_no_tag_fails_with_pre_commits_message(
    example_repo: Path, pre_commit_home: Path, tmp_path: Path
) -> None:
    """The near miss: a pin to a release that was never tagged (what init wrote before it
    pinned the running version) cannot be installed, so the hooks never ran for anyone."""
    config = example_repo / ".pre-commit-config.yaml"
    config.write_text(config.read_text().replace(
        "https://github.com/capa-accounts/capa-accounts", str(_release_clone(tmp_path))).replace(
        f"rev: {version.release_tag()}", "rev: v0.0.0-never-tagged"))
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    subprocess.run([*GIT, "-C", str(example_repo), "add", "-A"], check=True)
    result = pre_commit(example_repo, pre_commit_home, "--all-files")
    assert result.returncode != 0
    assert "v0.0.0-never-tagged" in result.stdout + result.stderr

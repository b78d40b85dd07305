"""The credential scan asks git which files it tracks only where git could find a work tree:
outside one (no .git here or above, no GIT_DIR) no process is started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gitrepo import git as run_git

from capa_accounts.core import git
from capa_accounts.hooks.check import secret_files


def test_outside_a_work_tree_no_git_process_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GIT_DIR", raising=False)
    calls: list[tuple[str, ...]] = []
    real = git.run

    def counted(root: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        calls.append(args)
        return real(root, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(git, "run", counted)
    (tmp_path / "plain").mkdir()
    assert secret_files.tracked_files(tmp_path / "plain") == []
    assert calls == []
    # The near miss: inside a work tree, git is asked and its files come back.
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q")
    (repo / "key.txt").write_text("x\n")
    run_git(repo, "add", "key.txt")
    assert secret_files.tracked_files(repo) == ["key.txt"]
    assert calls

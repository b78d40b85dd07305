"""Real git repositories for the tests: a hardened git call, a commit, a re-render."""

from __future__ import annotations

import subprocess
from pathlib import Path

from capa_accounts.kustomize_plugin import generated, render

LIVE_ACCOUNT = (
    '    - name: live\n      accountId: "333333333333"\n      region: eu-west-1\n'
    '      kubernetesVersion: "1.35"\n'
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.email=t@e",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def rerender(repo: Path) -> None:
    generated.apply(repo, generated.changes(repo, render.plan(repo)))

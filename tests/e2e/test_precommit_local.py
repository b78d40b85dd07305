"""`init --hooks local`: pre-commit with no network at all, and each problem printed once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit
from test_precommit import GIT

from capa_accounts.cli import main

KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"  # shaped like a real key, not AWS's documented example


@pytest.fixture
def local_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """`init --hooks local`, a first commit and `pre-commit install`, with the proxy variables
    pointing nowhere: a hook that reached for the network would fail."""
    repo = tmp_path / "repo"
    result = CliRunner().invoke(main, ["init", "--hooks", "local", str(repo)])
    assert result.exit_code == 0, result.output
    assert "pre-commit install" in result.output  # init prints the next steps
    bindir = str(Path(sys.executable).parent)  # capa-accounts and kubectl of this install
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "empty-pre-commit-home"),
        "NO_COLOR": "1",
        "PRE_COMMIT_COLOR": "never",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "init"], check=True)
    exe = shutil.which("pre-commit", path=env["PATH"])
    assert exe
    subprocess.run([exe, "install"], cwd=repo, env=env, check=True, capture_output=True)
    return repo, env


def _commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    return subprocess.run(
        [*GIT, "-C", str(repo), "commit", "-m", "change"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_local_hooks_commit_offline_and_ignore_the_lock(
    local_repo: tuple[Path, dict[str, str]],
) -> None:
    repo, env = local_repo
    (repo / ".capa-accounts.lock").write_text("pid 1\n")  # as while a render runs
    with (repo / "accounts.yaml").open("a", encoding="utf-8") as accounts:
        accounts.write("# reviewed\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "capa-accounts"), "render"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    done = _commit(repo, env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert out.count("Passed") == 4, out
    tracked = subprocess.run(
        [*GIT, "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True
    ).stdout
    assert ".capa-accounts.lock" not in tracked


def test_a_bad_accounts_yaml_is_printed_once(local_repo: tuple[Path, dict[str, str]]) -> None:
    repo, env = local_repo
    edit(repo / "accounts.yaml", 'accountId: "222222222222"', 'acountId: "222222222222"')
    refused = _commit(repo, env)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert out.count("unknown field 'acountId'") == 1, out
    assert "see capa-accounts render above" in out


def test_a_plain_key_is_printed_once(local_repo: tuple[Path, dict[str, str]]) -> None:
    repo, env = local_repo
    (repo / "notes.yaml").write_text(f"key: {KEY_ID}\n")
    refused = _commit(repo, env)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert out.count("notes.yaml:1:") == 1 and "[CAPA-S001]" in out, out


def test_near_miss_check_alone_still_reports_what_the_hooks_would(
    local_repo: tuple[Path, dict[str, str]],
) -> None:
    repo, _env = local_repo
    (repo / "notes.yaml").write_text(f"key: {KEY_ID}\n")
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    alone = CliRunner().invoke(main, ["check", "--repo", str(repo)])
    beside = CliRunner().invoke(
        main, ["check", "--repo", str(repo), "--with-hooks", "render,scan-secrets"]
    )
    assert "[CAPA-S001]" in alone.stdout and alone.exit_code == 1
    assert "[CAPA-S001]" not in beside.stdout and beside.exit_code == 0

"""`init --hooks local|remote`, the next steps it prints and the names it adds to .gitignore."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin import adopt, example


def init(*args: str) -> object:
    return CliRunner().invoke(main, ["init", *args])


def hooks_of(repo: Path) -> list[dict[str, object]]:
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (entry,) = config["repos"]
    return entry["hooks"]  # type: ignore[no-any-return]


def test_local_hooks_run_the_installed_tool(tmp_path: Path) -> None:
    result = init("--hooks", "local", str(tmp_path / "repo"))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    config = yaml.safe_load((tmp_path / "repo" / ".pre-commit-config.yaml").read_text())
    assert config["repos"][0]["repo"] == "local" and "rev" not in config["repos"][0]
    hooks = {h["id"]: h for h in hooks_of(tmp_path / "repo")}
    assert set(hooks) == {
        "capa-accounts-render",
        "capa-accounts-check",
        "capa-accounts-build",
        "capa-accounts-scan-secrets",
    }
    assert all(h["language"] == "system" for h in hooks.values())
    assert "--with-hooks render,scan-secrets" in str(hooks["capa-accounts-check"]["entry"])


def test_remote_hooks_pin_the_release_and_leave_each_problem_to_one_hook(tmp_path: Path) -> None:
    init(str(tmp_path / "repo"))
    check = next(h for h in hooks_of(tmp_path / "repo") if h["id"] == "capa-accounts-check")
    assert check["args"] == ["--with-hooks", "render,scan-secrets"]


def test_init_prints_the_next_steps(tmp_path: Path) -> None:
    out = init(str(tmp_path / "repo")).stdout  # type: ignore[attr-defined]
    assert "next steps:\n" in out and "pre-commit install" in out and "capa-accounts render" in out


def test_init_appends_to_an_existing_gitignore_once(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("node_modules")  # no final newline
    assert init(str(repo)).exit_code == 0  # type: ignore[attr-defined]
    lines = (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "node_modules"
    assert ".capa-accounts.lock" in lines and ".*.capa-accounts-tmp" in lines
    assert example.gitignore("\n".join(lines) + "\n") is None  # nothing left to add


@pytest.mark.parametrize("hooks", ["remote", "local"])
def test_a_folder_gets_repo_before_the_hooks_own_args(hooks: str) -> None:
    text = adopt.pre_commit_for_folder(example.pre_commit_config(hooks=hooks), "platform/capa")
    config = yaml.safe_load(text)  # one args and one files key per hook: valid YAML
    for hook in config["repos"][0]["hooks"]:
        if hook["id"] != "capa-accounts-scan-secrets":
            assert hook["args"][0] == "--repo=platform/capa"
    check = next(h for h in config["repos"][0]["hooks"] if h["id"] == "capa-accounts-check")
    with_hooks = "render,scan-secrets" in str(check.get("args")) + str(check.get("entry"))
    assert with_hooks

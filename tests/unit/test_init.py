"""`init` into a new directory, an empty one, or the top of an existing git repository: only new
files are written, and nothing at all when any name init writes is already there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from capa_accounts.cli import main
from capa_accounts.kustomize_plugin import example

GIT = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Someone's repository: a README, a workflow, a commit."""
    repo = tmp_path / "platform"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "README.md").write_text("# platform\n")
    (repo / ".github" / "workflows" / "ci.yaml").write_text("on: push\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-qm", "start"], check=True)
    return repo


def test_init_into_a_git_repository_adds_files_and_touches_none(
    project: Path, tmp_path: Path
) -> None:
    before = tree(project)
    result = cli("init", str(project))
    assert result.exit_code == 0, result.output
    after = tree(project)
    assert {k: after[k] for k in before} == before  # every file the user had, unchanged
    fresh = tmp_path / "fresh"
    assert cli("init", str(fresh)).exit_code == 0
    assert {k: v for k, v in after.items() if k not in before} == tree(fresh)
    status = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert all(line.startswith("??") for line in status.splitlines())  # nothing modified
    assert cli("check", "--repo", str(project)).exit_code == 0


def test_init_here_is_the_current_directory(project: Path) -> None:
    old = Path.cwd()
    os.chdir(project)
    try:
        result = cli("init", "--here")
    finally:
        os.chdir(old)
    written = [
        p
        for p in project.rglob("*")
        if p.is_file()
        and ".git" not in p.parts
        and p.name != "README.md"
        and ".github" not in p.parts
    ]
    assert (result.exit_code, result.stdout) == (0, f"wrote {len(written)} files into .\n")
    assert (project / "accounts.yaml").is_file() and (project / "README.md").read_text() == (
        "# platform\n"
    )
    assert cli("init", "--here", str(project)).exit_code == 2  # one or the other
    assert cli("init").exit_code == 2


@pytest.mark.parametrize(
    "taken",
    ["accounts.yaml", "base", "overlays", "clusters/management/capa-live.yaml"],
    ids=["accounts", "base", "overlays", "flux-kustomization"],
)
def test_init_writes_nothing_when_a_name_it_writes_exists(project: Path, taken: str) -> None:
    path = project / taken
    if "." in taken:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine\n")
    else:
        path.mkdir()
        (path / "mine.yaml").write_text("mine: true\n")
    before = tree(project)
    result = cli("init", str(project))
    assert result.exit_code == 2
    assert result.stderr == (
        f"capa-accounts: {project}: {taken} already exists: init writes "
        "only files that are not there, and nothing was written\n"
    )
    assert tree(project) == before


def test_init_never_writes_through_a_symlinked_directory(project: Path, tmp_path: Path) -> None:
    """A `base` symlink leading out of the repository: the attacker's way to have init write
    elsewhere. It is a name init writes, so nothing is written, there or here."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "base").symlink_to(outside)
    result = cli("init", str(project))
    assert result.exit_code == 2 and "base already exists" in result.stderr
    assert list(outside.iterdir()) == []
    dangling = tmp_path / "other"
    dangling.mkdir()
    (dangling / ".git").mkdir()
    (dangling / "overlays").symlink_to(tmp_path / "missing")  # a dangling link counts too
    assert cli("init", str(dangling)).exit_code == 2
    assert not (tmp_path / "missing").exists()


def test_init_refuses_a_non_empty_directory_that_is_no_repository(tmp_path: Path) -> None:
    target = tmp_path / "stuff"
    target.mkdir()
    (target / "notes.txt").write_text("x\n")
    result = cli("init", str(target))
    assert result.exit_code == 2 and "is not the top of a git repository" in result.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("init", str(empty)).exit_code == 0  # the near miss: empty is fine


def test_rendered_example_lists_files_before_their_kustomizations() -> None:
    order = list(example.rendered_example())
    for i, rel in enumerate(order):
        if rel.endswith("kustomization.yaml"):
            folder = rel.rsplit("/", 1)[0] + "/"
            assert not [
                r
                for r in order[i + 1 :]
                if r.startswith(folder) and not r.endswith("kustomization.yaml")
            ], rel

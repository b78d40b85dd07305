"""``check --base REF`` lends REF what it shares with the working tree byte for byte
(hooks/git/base.py); what it finds must be what reading REF whole finds. For every file of the
suite's corpora (the generated example fleet, a hand-written tree, the upstream manifests as
loose files) one change is made (an edit, a deletion, a copy added beside it), and the
findings and warnings of check --base HEAD are compared with those of the same check that
shares nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import PROJECT
from gitrepo import commit, git

from capa_accounts.hooks.check import engine
from capa_accounts.hooks.git import base as git_base

DATA = PROJECT / "tests" / "data"
NAME = re.compile(r"(\bname: )([\"']?)([A-Za-z0-9][A-Za-z0-9.-]*)")


_load_ref = git_base.load_ref


def _whole(
    root: Path, ref: str, exclude: tuple[str, ...] = (), shared: object = None
) -> git_base.Loaded:
    """REF read whole: nothing lent by the working tree."""
    return _load_ref(root, ref, exclude)


def _verdict(repo: Path) -> tuple[list[str], list[str]]:
    report = engine.check(repo, base_ref="HEAD", keep_going=True)
    return sorted(map(str, report.findings)), sorted(report.warnings_loading)


def _change(repo: Path, rel: str, how: str) -> None:
    path = repo / rel
    if how == "delete":
        path.unlink()
    elif how == "add":
        shutil.copyfile(path, path.with_name(f"copy-{path.name}"))
    else:
        text = path.read_text(encoding="utf-8")
        edited = NAME.sub(lambda m: f"{m[1]}{m[2]}{m[3]}-edited", text, count=1)
        path.write_text(edited if edited != text else f"{text}\n# edited\n", encoding="utf-8")


def _restore(repo: Path) -> None:
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-qfd")


def _equivalent(repo: Path, monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...]) -> int:
    files = sorted(
        p.relative_to(repo).as_posix()
        for p in repo.rglob("*.yaml")
        if ".git" not in p.relative_to(repo).parts
    )
    assert files
    for n, rel in enumerate(files):
        how = kinds[n % len(kinds)] if len(kinds) < 3 else None
        for kind in (how,) if how else kinds:
            _change(repo, rel, kind)
            shared = _verdict(repo)
            with monkeypatch.context() as whole:
                whole.setattr(git_base, "load_ref", _whole)
                assert _verdict(repo) == shared, (rel, kind)
            _restore(repo)
    return len(files)


def _committed(repo: Path) -> Path:
    git(repo, "init", "-q")
    commit(repo, "corpus")
    return repo


def test_the_example_fleet_every_file_edited_deleted_and_added(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    assert _equivalent(_committed(example_repo), monkeypatch, ("edit", "delete", "add")) > 10


def test_a_hand_written_tree_every_file_edited_deleted_and_added(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DATA / "hand-written", repo)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert _equivalent(_committed(repo), monkeypatch, ("edit", "delete", "add")) > 5


def test_upstream_manifests_as_loose_files_one_change_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DATA / "upstream", repo / "upstream", ignore=shutil.ignore_patterns("*.md"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert _equivalent(_committed(repo), monkeypatch, ("edit", "delete")) > 50

"""Generated files not read again while ``lstat`` shows them unchanged since they held render's
text (kustomize_plugin/seen.py): a check or render from the kept state says exactly what one
without it says, for every change in the suite's corpus of rule examples, and no edit, however
small or quick, goes unseen."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import edit, example_repo, run_check  # noqa: F401 - the fixture is used by name
from rule_examples import Example, change, examples, family_rules, prepare

from capa_accounts.core import yamlio
from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import engine
from capa_accounts.kustomize_plugin import plan_cache, seen

IDENTITY = "overlays/staging/identity.yaml"
CORPUS = [e for family in sorted(family_rules()) for e in examples(family)]


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The cache on for the three-account example, every file settled (the suite's files are
    all younger than a second); the files check read, in order."""
    monkeypatch.setattr(plan_cache, "MIN_ACCOUNTS", 0)
    monkeypatch.setattr(seen, "SETTLED_NS", -3600 * 10**9)
    monkeypatch.setenv("CAPA_ACCOUNTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CAPA_ACCOUNTS_NO_CACHE", raising=False)
    read: list[str] = []
    original = yamlio.read_regular

    def counting(path: str, name: str) -> str | None:
        read.append(name)
        return original(path, name)

    monkeypatch.setattr(yamlio, "read_regular", counting)
    return read


def full(repo: Path, monkeypatch: pytest.MonkeyPatch, base: str | None = None) -> list[Finding]:
    with monkeypatch.context() as off:
        off.setenv("CAPA_ACCOUNTS_NO_CACHE", "1")
        return run_check(repo, base_ref=base).findings


def test_a_second_check_reads_no_generated_file(
    example_repo: Path,  # noqa: F811
    kept: list[str],
) -> None:
    assert run_check(example_repo).findings == []
    assert IDENTITY in kept
    kept.clear()
    assert run_check(example_repo).findings == []
    assert IDENTITY not in kept
    assert not [f for f in kept if f.startswith(("overlays/", "bootstrap/", "clusters/"))]


def _same_size_and_time(path: Path) -> None:
    """One letter changed, and the modification time set back (``touch -d``): only the
    change time, which no system call sets back, tells."""
    before = path.stat()
    edit(path, "name: staging-identity", "name: staging-identitx")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert path.stat().st_size == before.st_size


@pytest.mark.parametrize(
    "change_file",
    [
        _same_size_and_time,
        # the same size, one letter: only the change time tells
        lambda p: edit(p, "name: staging-identity", "name: staging-identitx"),
        # written back as it was: read again, nothing to say
        lambda p: p.write_bytes(p.read_bytes()),
        # replaced by a rename, as editors and git write
        lambda p: (
            p.with_name("x").write_bytes(p.read_bytes().replace(b"staging-", b"stagin2-")),
            os.replace(p.with_name("x"), p),
        ),
        # a symlink to the same text
        lambda p: (p.with_name("x").write_bytes(p.read_bytes()), p.unlink(), p.symlink_to("x")),
    ],
)
def test_no_edit_goes_unseen(
    example_repo: Path,  # noqa: F811
    kept: list[str],
    monkeypatch: pytest.MonkeyPatch,
    change_file: object,
) -> None:
    run_check(example_repo)
    time.sleep(0.02)  # past the clock tick of the files' creation, as any later edit is
    change_file(example_repo / IDENTITY)  # type: ignore[operator]
    assert run_check(example_repo).findings == full(example_repo, monkeypatch)


def test_a_file_younger_than_a_second_is_not_kept(
    example_repo: Path,  # noqa: F811
    kept: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(seen, "SETTLED_NS", 10**9)  # as a user's run: the files are fresh
    run_check(example_repo)
    kept.clear()
    run_check(example_repo)
    assert IDENTITY in kept  # read again: a write in its clock tick would look the same


def test_kept_fields_of_another_plan_are_not_believed(
    example_repo: Path,  # noqa: F811
    kept: list[str],
    tmp_path: Path,
) -> None:
    run_check(example_repo)
    (entry,) = (tmp_path / "cache").glob("plan-*.seen.json")
    text = entry.read_text()
    assert '"token"' in text
    entry.write_text(text.replace('"token": "', '"token": "0'))
    kept.clear()
    run_check(example_repo)
    assert IDENTITY in kept


@pytest.mark.parametrize("example", CORPUS, ids=str)
def test_a_check_from_the_kept_state_says_what_a_full_check_says(
    example_repo: Path,  # noqa: F811
    kept: list[str],
    monkeypatch: pytest.MonkeyPatch,
    example: Example,
) -> None:
    """The kept plan, verdicts (hooks/check/verified.py) and unchanged files of the state
    before the example's change, then the change: what check says from them is what it says
    with nothing kept."""
    base = prepare(example, example_repo)
    engine.check(example_repo, base_ref=base)
    time.sleep(0.01)  # past the clock tick of the files the check saw
    change(example, example_repo)
    assert run_check(example_repo, base_ref=base).findings == full(example_repo, monkeypatch, base)

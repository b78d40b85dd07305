"""Render's plan kept between checks in the user's cache directory: reused only when the tool
and everything the plan read are byte for byte the same, never from a place others can write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import edit, example_repo, run_check  # noqa: F401 - the fixture is used by name

from capa_accounts.core.finding import Finding
from capa_accounts.kustomize_plugin import plan_cache, render


def verdict(repo: Path) -> list[Finding]:
    return run_check(repo).findings


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """The cache on for the three-account example, in a fresh cache directory; how many times
    render planned."""
    monkeypatch.setattr(plan_cache, "MIN_ACCOUNTS", 0)
    monkeypatch.delenv("CAPA_ACCOUNTS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CAPA_ACCOUNTS_NO_CACHE", raising=False)
    calls: list[int] = []
    original = render.plan

    def planning(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "plan", planning)
    return calls


def entries(tmp_path: Path) -> list[Path]:
    """The plan entries (beside each: its documents and the files known unchanged)."""
    found = (tmp_path / "cache" / "capa-accounts").glob("plan-*.json")
    return sorted(p for p in found if p.name.count(".") == 1)


def test_an_unchanged_repository_is_planned_once(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    tmp_path: Path,
) -> None:
    assert verdict(example_repo) == []
    assert len(counted) == 1 and len(entries(tmp_path)) == 1
    assert verdict(example_repo) == []
    assert len(counted) == 1  # the second check read the entry


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("base/namespace.yaml", "  labels:\n", "  labels:\n    team: platform\n"),
        ("accounts.yaml", "region: eu-west-1", "region: eu-west-2"),
    ],
)
def test_a_change_to_what_render_reads_is_planned_again(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    old: str,
    new: str,
) -> None:
    assert verdict(example_repo) == []
    file = example_repo / path
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))
    cached = verdict(example_repo)
    assert len(counted) == 2
    monkeypatch.setenv("CAPA_ACCOUNTS_NO_CACHE", "1")
    assert cached == verdict(example_repo)
    assert "CAPA-R001" in {f.rule for f in cached}


def test_a_file_added_beside_base_is_planned_again(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert verdict(example_repo) == []
    (example_repo / "base" / "extra.yaml").write_text("kind: ConfigMap\n")
    with_cache = verdict(example_repo)
    assert len(counted) == 2
    monkeypatch.setenv("CAPA_ACCOUNTS_NO_CACHE", "1")
    assert with_cache == verdict(example_repo)


def forge(entry: Path) -> None:
    """An entry whose plan says every file is as render writes it, whatever the tree holds."""
    data = json.loads(entry.read_text())
    data["plan"]["files"] = {}
    data["plan"]["documents"] = {}
    entry.write_text(json.dumps(data))


def test_an_entry_others_can_write_is_not_read(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    tmp_path: Path,
) -> None:
    verdict(example_repo)
    (entry,) = entries(tmp_path)
    forge(entry)
    entry.chmod(0o666)
    assert verdict(example_repo) == []  # planned again: the forged plan would say R001
    assert len(counted) == 2
    # The near miss: the same forged entry, the user's own and private, is read as it is.
    entry.chmod(0o600)
    verdict(example_repo)
    assert len(counted) == 2


def test_a_cache_inside_the_repository_is_never_used(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(example_repo / ".cache"))
    assert verdict(example_repo) == [] and verdict(example_repo) == []
    assert len(counted) == 2
    assert not (example_repo / ".cache").exists()


def test_small_fleets_are_planned_afresh(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(plan_cache, "MIN_ACCOUNTS", 4)  # the example has three accounts
    verdict(example_repo)
    verdict(example_repo)
    assert len(counted) == 2 and entries(tmp_path) == []


def test_warnings_about_hand_written_files_are_made_anew(
    example_repo: Path,  # noqa: F811
    counted: list[int],
) -> None:
    from capa_accounts.core.accounts_file import load_account_set

    account_set = load_account_set(example_repo)
    plan_cache.cached_plan(example_repo, account_set)
    (example_repo / "overlays" / "staging" / "extra.yaml").write_text("kind: ConfigMap\n")
    cached = plan_cache.cached_plan(example_repo, account_set)
    assert len(counted) == 1  # read from the entry: the file is not one render reads
    assert cached.warnings == render.plan(example_repo, account_set).warnings
    assert any("overlays/staging/extra.yaml" in w for w in cached.warnings)


def rendered(repo: Path, *, check_only: bool = False) -> list[str]:
    """What render changes (``render --check``: what it would change), as the CLI runs it."""
    from capa_accounts.usecases import render as render_command

    return [f"{c.action} {c.path}" for c in render_command(repo, check_only=check_only, say=print)]


def test_render_with_nothing_to_change_reads_the_entry(
    example_repo: Path,  # noqa: F811
    counted: list[int],
) -> None:
    assert rendered(example_repo) == [] and rendered(example_repo, check_only=True) == []
    assert len(counted) == 1  # render and render --check read the entry the first one kept
    # A change to what render reads is planned again and written, as without the cache.
    edit(example_repo / "accounts.yaml", "region: eu-west-1", "region: eu-west-2")
    assert rendered(example_repo, check_only=True) == rendered(example_repo) != []
    assert len(counted) == 2
    assert rendered(example_repo) == []
    assert len(counted) == 2


def test_render_after_a_hand_edit_of_its_output_puts_it_back(
    example_repo: Path,  # noqa: F811
    counted: list[int],
) -> None:
    rendered(example_repo)
    identity = example_repo / "overlays" / "staging" / "identity.yaml"
    before = identity.read_text()
    identity.write_text(before.replace("- staging", "- live"))
    assert rendered(example_repo) == ["update overlays/staging/identity.yaml"]
    assert identity.read_text() == before and len(counted) == 1


def test_render_reads_no_documents_and_check_no_others(
    example_repo: Path,  # noqa: F811
    counted: list[int],
    tmp_path: Path,
) -> None:
    """render compares and writes text: a kept plan serves it without its documents; check
    takes a plan's documents only from the file its entry's token names."""
    from capa_accounts.core.lock import locked
    from capa_accounts.kustomize_plugin import transaction

    def render_check() -> int:
        with locked(example_repo, "render"):
            account_set = transaction.load(example_repo, check_only=True)
            return len(transaction.render(example_repo, account_set, check_only=True).todo)

    verdict(example_repo)
    (entry,) = entries(tmp_path)
    documents = entry.with_name(entry.stem + ".documents.json")
    kept = json.loads(documents.read_text())
    assert set(kept) == {"token", "documents"} and kept["documents"]
    documents.unlink()
    assert render_check() == 0 and len(counted) == 1  # the kept plan, without documents
    documents.write_text(json.dumps({**kept, "token": "another"}))
    documents.chmod(0o600)
    assert verdict(example_repo) == [] and len(counted) == 2  # not these: planned again


def test_the_code_digest_sees_any_edit_of_a_source_file(tmp_path: Path) -> None:
    """An edit of the tool's code, of the same size and with its modification time set back,
    still makes other code: the change time, which nothing sets back, is in the digest."""
    import os
    import time
    from types import SimpleNamespace

    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("x = 1\n")
    (package / "sub" / "rules.py").write_text("y = 2\n")
    module = SimpleNamespace(__file__=str(package / "__init__.py"))
    before = plan_cache.code_digest("salt", module)
    assert plan_cache.code_digest("salt", module) == before
    assert plan_cache.code_digest("other", module) != before
    time.sleep(0.02)  # past the clock tick of the files' creation
    rules = package / "sub" / "rules.py"
    old = rules.stat()
    rules.write_text("y = 3\n")
    os.utime(rules, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert plan_cache.code_digest("salt", module) != before

"""Render's own output judged once per plan (hooks/check/verified.py): a check that reads the
plan from the cache does not judge render's files again for the rules that judge a file
alone, and says exactly what a check without the cache says, findings in render's output
included."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, example_repo  # noqa: F401 - the fixture is used by name

from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import engine, verified
from capa_accounts.kustomize_plugin import plan_cache

KEY_ID = "AKIA" + "Q7ZX3RLM2PV4KT6N"  # the shape of an access key id, not AWS's placeholder
KNOWN: list[frozenset[str]] = []  # what each verification was given as judged already


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """The cache on for the three-account example; how many times the verifier judged."""
    monkeypatch.setattr(plan_cache, "MIN_ACCOUNTS", 0)
    monkeypatch.setenv("CAPA_ACCOUNTS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CAPA_ACCOUNTS_NO_CACHE", raising=False)
    calls: list[int] = []
    original = verified.verify

    def counting(plan: object, known: frozenset[str] = frozenset()) -> object:
        calls.append(1)
        KNOWN.append(known)
        return original(plan, known)  # type: ignore[arg-type]

    monkeypatch.setattr(verified, "verify", counting)
    KNOWN.clear()
    return calls


def checked(repo: Path, **kwargs: object) -> tuple[list[Finding], set[str]]:
    report, ctx = engine.check_context(repo, **kwargs)  # type: ignore[arg-type]
    return report.findings, set(ctx.loaded.verified)


def uncached(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    with monkeypatch.context() as off:
        off.setenv("CAPA_ACCOUNTS_NO_CACHE", "1")
        return engine.check(repo).findings


def test_render_output_is_judged_once_per_plan(
    example_repo: Path,  # noqa: F811
    judged: list[int],
) -> None:
    first, _ = checked(example_repo)
    assert first == [] and len(judged) == 1
    again, skipped = checked(example_repo)
    assert again == [] and len(judged) == 1  # the verdict was read with the plan
    assert "overlays/staging/identity.yaml" in skipped
    assert "bootstrap/staging.yaml" in skipped


@pytest.mark.parametrize(
    ("name", "old", "new", "rule"),
    [
        # A credential in base/ is in every overlay render writes (S001).
        ("namespace.yaml", "  labels:\n", f"  labels:\n    leaked: {KEY_ID}\n", "CAPA-S001"),
        # A key the schema does not know, copied into every overlay (R004).
        (
            "identity.yaml",
            "  sourceIdentityRef:\n",
            "  sourceIdentity: {}\n  sourceIdentityRef:\n",
            "CAPA-R004",
        ),
    ],
)
def test_a_finding_in_render_output_is_reported_from_the_cache(
    example_repo: Path,  # noqa: F811
    judged: list[int],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    old: str,
    new: str,
    rule: str,
) -> None:
    edit(example_repo / "base" / name, old, new)
    engine.check(example_repo)  # render's plan of the edited base, made and kept
    from capa_accounts.core.lock import locked  # render as a user would, then check twice
    from capa_accounts.kustomize_plugin import transaction

    with locked(example_repo, "render"):
        account_set = transaction.load(example_repo, check_only=False)
        transaction.render(example_repo, account_set, check_only=False)
    first, _ = checked(example_repo)
    again, skipped = checked(example_repo)
    assert again == first == uncached(example_repo, monkeypatch)
    # Found in each overlay; a schema finding is then told once, at base/ (check/templates.py).
    assert {f.file for f in again if f.rule == rule} & {f"overlays/staging/{name}", f"base/{name}"}
    assert f"overlays/staging/{name}" not in skipped
    assert f"overlays/live/{name}" not in skipped


def test_a_hand_edit_of_render_output_is_judged(
    example_repo: Path,  # noqa: F811
    judged: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked(example_repo)
    edit(
        example_repo / "overlays/staging/namespace.yaml",
        "  labels:\n",
        f"  labels:\n    leaked: {KEY_ID}\n",
    )
    found, skipped = checked(example_repo)
    assert "overlays/staging/namespace.yaml" not in skipped
    assert "overlays/live/namespace.yaml" in skipped
    assert {("CAPA-S001", "overlays/staging/namespace.yaml")} <= {(f.rule, f.file) for f in found}
    assert found == uncached(example_repo, monkeypatch)


def test_other_code_judges_again(
    example_repo: Path,  # noqa: F811
    judged: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked(example_repo)
    monkeypatch.setattr(verified, "_key", lambda: "another version of the checks")
    _, skipped = checked(example_repo)
    assert len(judged) == 2 and skipped


def test_user_crds_judge_everything(
    example_repo: Path,  # noqa: F811
    judged: list[int],
) -> None:
    crd = example_repo.parent / "crd.yaml"
    crd.write_text("")
    checked(example_repo)
    _, skipped = checked(example_repo, crds=(crd,))
    assert skipped == set()


def test_a_render_that_changes_one_account_keeps_the_others_verdicts(
    example_repo: Path,  # noqa: F811
    judged: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, before = checked(example_repo)
    texts = {rel: (example_repo / rel).read_text() for rel in before}
    edit(example_repo / "accounts.yaml", "region: eu-west-1", "region: eu-west-2")
    from capa_accounts.usecases import render as render_command

    changes = render_command(example_repo, check_only=False, say=print)
    changed = {c.path for c in changes}
    assert changed and changed <= set(texts)  # some of staging's files
    found, skipped = checked(example_repo)
    given = KNOWN[-1]
    assert not given & changed  # a changed text is judged again
    assert given == set(texts) - changed  # every unchanged one is not
    assert changed <= skipped  # judged now, and clean
    assert found == uncached(example_repo, monkeypatch)
    # A credential in the changed account's output is found: its files were judged anew.
    edit(
        example_repo / "accounts.yaml",
        "region: eu-west-2",
        f"region: eu-west-2\n      # {KEY_ID}",
    )
    assert {f.rule for f in checked(example_repo)[0]} >= {"CAPA-S001"}


def test_the_summary_says_how_many_files_were_judged_anew(
    example_repo: Path,  # noqa: F811
    judged: list[int],
) -> None:
    """Only verdicts of an earlier run count as kept: the first check judged everything."""
    from capa_accounts.hooks.report.common import summary_line

    first = engine.check(example_repo)
    assert first.kept == 0 and "anew" not in summary_line(first)
    again = engine.check(example_repo)
    anew = again.files - again.kept
    assert again.kept > 0 and anew > 0  # accounts.yaml and base/ are not render's output
    assert summary_line(again).endswith(
        f"; the rules that judge a file alone judged {anew} files anew "
        f"({again.kept} unchanged since their verdict was kept)"
    )

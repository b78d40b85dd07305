"""Cross-account rules CAPA-X001, X002, X004, on the rendered example repository."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.hooks.context import Context
from capa_accounts.hooks.repository import load
from capa_accounts.hooks.rules import Reporter
from capa_accounts.hooks.rules.crossaccount import check_shared_namespace
from capa_accounts.core.errors import ConfigError

RULES = ("CAPA-X001", "CAPA-X002", "CAPA-X004")
LIVE_IDENTITY = "overlays/live/identity.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"


def where(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def test_pristine_example_has_no_cross_account_findings(example_repo: Path) -> None:
    assert [f for f in run_check(example_repo).findings if f.rule in RULES] == []


# --- X001 -------------------------------------------------------------------------------------

def test_x001_fires_when_two_overlays_admit_one_namespace(example_repo: Path) -> None:
    path = example_repo / LIVE_IDENTITY
    edit(path, "    - live\n", "    - live\n    - staging\n")
    found = of_rule(run_check(example_repo), "CAPA-X001")
    assert [(f.file, f.line) for f in found] == [(LIVE_IDENTITY, line_of(path, "- staging"))]
    assert "'staging-identity' of overlays/staging" in found[0].message
    staging = example_repo / STAGING_IDENTITY
    assert [(r.file, r.line) for r in found[0].related] == [
        (STAGING_IDENTITY, line_of(staging, "    - staging"))]


def test_x001_near_miss_one_overlay_two_identities(example_repo: Path) -> None:
    # Two identities of one account admitting its namespace share no credentials across
    # accounts (I005 and friends judge them).
    path = example_repo / STAGING_IDENTITY
    text = path.read_text(encoding="utf-8")
    second = text.split("\n", 1)[1].replace("name: staging-identity", "name: staging-extra")
    path.write_text(text + "---\n" + second, encoding="utf-8")
    assert where(example_repo, "CAPA-X001") == []


def test_x001_fires_on_accounts_yaml(example_repo: Path) -> None:
    # Parsing accounts.yaml already refuses a shared namespace (exit 2, the same rule ID) ...
    accounts = example_repo / "accounts.yaml"
    edit(accounts, "    - name: live\n", "    - name: live\n      namespace: staging\n")
    with pytest.raises(ConfigError, match="CAPA-X001"):
        run_check(example_repo)
    # ... and the rule reports it when handed such a set.
    edit(accounts, "    - name: live\n      namespace: staging\n", "    - name: live\n")
    ctx = Context(load(example_repo))
    assert ctx.account_set is not None
    staging, live = ctx.account_set.accounts
    ctx.account_set = dataclasses.replace(
        ctx.account_set, accounts=(staging, dataclasses.replace(live, namespace="staging")))
    report = Reporter("CAPA-X001", "error", ctx)
    check_shared_namespace(ctx, report)
    assert [(f.file, f.line) for f in report.findings] == [
        ("accounts.yaml", line_of(accounts, "- name: live"))]
    assert "already used by account 'staging'" in report.findings[0].message


# --- X002 -------------------------------------------------------------------------------------

CONFIG_MAP = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: {}\n"


@pytest.mark.parametrize(("live_namespace", "fires"), [("staging", True), ("live", False)],
                         ids=["same-namespace", "other-namespace"])
def test_x002_config_map_in_two_overlays(example_repo: Path, live_namespace: str,
                                         fires: bool) -> None:
    for account, namespace in (("live", live_namespace), ("staging", "staging")):
        path = example_repo / f"overlays/{account}/identity.yaml"
        path.write_text(path.read_text(encoding="utf-8") + CONFIG_MAP.format(namespace),
                        encoding="utf-8")
    staging = example_repo / STAGING_IDENTITY
    expected = [(STAGING_IDENTITY, line_of(staging, "name: shared"))] if fires else []
    assert where(example_repo, "CAPA-X002") == expected


def test_x002_fires_on_an_identity_in_two_overlays(example_repo: Path) -> None:
    live = (example_repo / LIVE_IDENTITY).read_text(encoding="utf-8").split("\n", 1)[1]
    path = example_repo / STAGING_IDENTITY
    path.write_text(path.read_text(encoding="utf-8") + "---\n" + live, encoding="utf-8")
    found = of_rule(run_check(example_repo), "CAPA-X002")
    assert [(f.file, f.line) for f in found] == [
        (STAGING_IDENTITY, line_of(path, "name: live-identity"))]
    assert "overlays/live" in found[0].message
    assert [(r.file, r.line) for r in found[0].related] == [
        (LIVE_IDENTITY, line_of(example_repo / LIVE_IDENTITY, "name: live-identity"))]


# --- X004 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("account_id", "fires"), [("222222222222", True), ("444444444444", False)],
                         ids=["shared", "distinct"])
def test_x004_shared_account_id(example_repo: Path, account_id: str, fires: bool) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(accounts, 'accountId: "333333333333"', f'accountId: "{account_id}"')
    found = of_rule(run_check(example_repo), "CAPA-X004")
    if not fires:
        assert found == []
        return
    second = line_of(accounts, "- name: live") + 1
    assert [(f.file, f.line, f.severity) for f in found] == [("accounts.yaml", second, "warning")]
    assert [(r.file, r.line) for r in found[0].related] == [
        ("accounts.yaml", line_of(accounts, 'accountId: "222222222222"'))]

"""Removing an account in operator mode: CAPA-D004 says what keeps running (the account's
provider, with its keys) and how to remove it without the webhooks every account shares."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, of_rule, run_check
from gitrepo import LIVE_ACCOUNT, commit, rerender
from test_rules_removals import decommission_live


@pytest.mark.parametrize("mode", ["operator", "roleIdentity"], ids=["operator", "role-identity"])
def test_removed_account_names_what_operator_mode_leaves_running(
    committed: Path,
    mode: str,
) -> None:
    if mode == "operator":
        edit(committed / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
        rerender(committed)
        commit(committed, "operator mode")
    decommission_live(committed)
    commit(committed, "decommission live")
    edit(
        committed / "accounts.yaml",
        "    - name: live\n      decommissioning: true\n" + LIVE_ACCOUNT.split("\n", 1)[1],
        "",
    )
    rerender(committed)
    (found,) = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    assert found.severity == "warning"
    said = "InfrastructureProvider aws-live in namespace capa-live still runs CAPA" in found.message
    assert said is (mode == "operator")
    if mode == "operator":
        assert "the operator's delete removes the CAPA webhook configurations" in found.message
        assert "docs/operator-mode.md, Removing an account" in found.message

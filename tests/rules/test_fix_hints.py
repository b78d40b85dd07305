"""Fix hints that point the right way: CAPA-C003 names the namespace's own identity, CAPA-D004
names the removed account's namespace."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import edit, of_rule, run_check
from gitrepo import LIVE_ACCOUNT, commit, rerender
from test_rules_removals import decommission_live

from capa_accounts.cli import main

STAGING = "overlays/staging/cluster-staging.yaml"


def test_c003_across_accounts_names_the_namespaces_own_identity(example_repo: Path) -> None:
    edit(example_repo / STAGING, "    name: staging-identity", "    name: live-identity")
    messages = [f.message for f in of_rule(run_check(example_repo), "CAPA-C003")]
    assert messages and all(
        "use namespace 'staging''s own identity 'staging-identity'" in m for m in messages
    )


def test_c003_near_miss_own_identity_gets_no_redirect(example_repo: Path) -> None:
    edit(
        example_repo / "overlays/staging/identity.yaml",
        "    list:\n    - staging\n",
        "    list:\n    - other\n",
    )
    messages = [f.message for f in of_rule(run_check(example_repo), "CAPA-C003")]
    assert messages and not any("own identity" in m for m in messages)


def test_explain_c003_fixes_with_the_own_identity_first() -> None:
    text = CliRunner().invoke(main, ["explain", "CAPA-C003"]).stdout
    fix = text.split("Fix", 1)[1]
    assert "namespace's own identity" in fix
    assert fix.index("own identity") < fix.index("allowedNamespaces")
    assert "open that account's role" in fix


def test_d004_names_the_namespace_to_look_in(committed: Path) -> None:
    decommission_live(committed)
    commit(committed, "decommission live")
    edit(
        committed / "accounts.yaml",
        "    - name: live\n      decommissioning: true\n" + LIVE_ACCOUNT.split("\n", 1)[1],
        "",
    )
    rerender(committed)
    (found,) = of_rule(run_check(committed, base_ref="HEAD"), "CAPA-D004")
    assert "`kubectl get clusters -n live`" in found.message
    assert "<namespace>" not in found.message

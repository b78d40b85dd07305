"""Control-plane rules CAPA-C001 … C004, on the rendered example repository edited by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

RULES = [f"CAPA-C00{n}" for n in range(1, 5)]
STAGING = "overlays/staging/cluster-staging.yaml"
STAGING_IDENTITY = "overlays/staging/identity.yaml"
DEFAULT = "overlays/management/controller-identity.yaml"
IDENTITY_REF = "  identityRef:\n    kind: AWSClusterRoleIdentity\n    name: staging-identity\n"


def where(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def test_pristine_example_has_no_control_plane_findings(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert [f for f in report.findings if f.rule in RULES] == []


# --- C001 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "replacement",
    ["", IDENTITY_REF.replace("identityRef", "identityref")],
    ids=["removed", "misspelt-key"],
)
def test_c001_fires_without_identity_ref(example_repo: Path, replacement: str) -> None:
    path = example_repo / STAGING
    edit(path, IDENTITY_REF, replacement)
    spec_line = line_of(path, "  eksClusterName: staging") - (1 if not replacement else 4)
    assert where(example_repo, "CAPA-C001") == [(STAGING, spec_line)]


@pytest.mark.parametrize(
    "accounts_edit", [None, ("roleIdentity", "operator")], ids=["identity-ref-set", "operator-mode"]
)
def test_c001_near_miss(example_repo: Path, accounts_edit: tuple[str, str] | None) -> None:
    if accounts_edit:  # operator mode: each provider's `default` is its own account
        edit(example_repo / "accounts.yaml", *accounts_edit)
        edit(example_repo / STAGING, IDENTITY_REF, "")
    assert where(example_repo, "CAPA-C001") == []


# --- C002 -------------------------------------------------------------------------------------


def test_c002_fires_on_a_typo(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(path, "    name: staging-identity", "    name: stagin-identity")
    found = of_rule(run_check(example_repo), "CAPA-C002")
    assert [(f.file, f.line) for f in found] == [(STAGING, line_of(path, "stagin-identity"))]
    assert "did you mean 'staging-identity'" in found[0].message


def test_c002_suggests_no_identity_that_refuses_the_namespace(example_repo: Path) -> None:
    """`liv-identity` is one letter from `live-identity`, which admits only `live`: a staging
    cluster is never pointed at the other account's identity; a typo of its own is."""
    edit(example_repo / STAGING, "    name: staging-identity", "    name: liv-identity")
    found = of_rule(run_check(example_repo), "CAPA-C002")
    assert found and "live-identity" not in found[0].message  # the closest, but live's
    assert "did you mean 'staging-identity'" in found[0].message  # the one staging may use


def test_c002_near_miss_another_existing_identity(example_repo: Path) -> None:
    edit(example_repo / STAGING, "    name: staging-identity", "    name: live-identity")
    assert where(example_repo, "CAPA-C002") == []


# --- C003 -------------------------------------------------------------------------------------


def test_c003_fires_on_another_accounts_identity(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(path, "    name: staging-identity", "    name: live-identity")
    found = of_rule(run_check(example_repo), "CAPA-C003")
    assert [(f.file, f.line) for f in found] == [(STAGING, line_of(path, "name: live-identity"))]
    assert "'live-identity'" in found[0].message and "'staging'" in found[0].message
    live = example_repo / "overlays/live/identity.yaml"
    assert [(r.file, r.line) for r in found[0].related] == [
        ("overlays/live/identity.yaml", line_of(live, "allowedNamespaces") + 1)
    ]


def test_c003_fires_on_default_in_the_chain(example_repo: Path) -> None:
    edit(example_repo / DEFAULT, "    - staging\n", "")
    found = of_rule(run_check(example_repo), "CAPA-C003")
    path = example_repo / STAGING
    assert [(f.file, f.line) for f in found] == [(STAGING, line_of(path, "name: staging-identity"))]
    assert "sourceIdentityRef of 'staging-identity'" in found[0].message
    assert "AWSClusterControllerIdentity 'default'" in found[0].message


ALLOWED = "  allowedNamespaces:\n    list:\n    - staging\n"


@pytest.mark.parametrize(
    ("allowed", "fires"),
    [
        ("  allowedNamespaces: {}\n", False),
        ("  allowedNamespaces:\n    list: null\n", False),
        ("  allowedNamespaces:\n    selector: {}\n", False),
        ("  allowedNamespaces:\n    list: []\n", True),
        ("", True),
        ("  allowedNamespaces:\n    list: [live]\n", True),
        ("  allowedNamespaces:\n    selector:\n      matchLabels: {}\n", True),
        (
            "  allowedNamespaces:\n    selector:\n      matchLabels:\n"
            "        capa-accounts.dev/account: staging\n",
            False,
        ),
        (
            "  allowedNamespaces:\n    selector:\n      matchLabels:\n"
            "        kubernetes.io/metadata.name: staging\n",
            False,
        ),
        (
            "  allowedNamespaces:\n    selector:\n      matchLabels:\n"
            "        capa-accounts.dev/account: live\n",
            True,
        ),
        (
            "  allowedNamespaces:\n    selector:\n      matchExpressions:\n"
            "      - {key: capa-accounts.dev/account, operator: In, values: [staging]}\n",
            False,
        ),
        (
            "  allowedNamespaces:\n    list: [live]\n    selector:\n      matchLabels:\n"
            "        capa-accounts.dev/account: staging\n",
            False,
        ),
    ],
    ids=[
        "empty-all",
        "list-null-all",
        "selector-empty-all",
        "list-empty-none",
        "absent-none",
        "other-namespace",
        "match-labels-empty-none",
        "selector-matches",
        "selector-automatic-name-label",
        "selector-other",
        "expression-matches",
        "list-or-selector",
    ],
)
def test_c003_allowed_namespaces_semantics(example_repo: Path, allowed: str, fires: bool) -> None:
    edit(example_repo / STAGING_IDENTITY, ALLOWED, allowed)
    path = example_repo / STAGING
    expected = [(STAGING, line_of(path, "name: staging-identity"))] if fires else []
    assert where(example_repo, "CAPA-C003") == expected


def test_c003_selector_needs_the_namespace_object(example_repo: Path) -> None:
    # CAPA reads the Namespace's labels; one the repository does not hold cannot be judged
    # as admitted.
    edit(
        example_repo / STAGING_IDENTITY,
        ALLOWED,
        "  allowedNamespaces:\n    selector:\n"
        "      matchLabels:\n        capa-accounts.dev/account: staging\n",
    )
    (example_repo / "overlays/staging/namespace.yaml").write_text(
        "# generated by capa-accounts\n", encoding="utf-8"
    )
    assert len(where(example_repo, "CAPA-C003")) == 1


def test_c003_stops_at_a_cycle(example_repo: Path) -> None:
    edit(
        example_repo / STAGING_IDENTITY,
        "    kind: AWSClusterControllerIdentity\n    name: default",
        "    kind: AWSClusterRoleIdentity\n    name: staging-identity",
    )
    assert where(example_repo, "CAPA-C003") == []


# --- C004 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [("AWSClusterControllerIdentity", "default"), ("AWSClusterStaticIdentity", "static")],
    ids=["controller", "static"],
)
def test_c004_fires(example_repo: Path, kind: str, name: str) -> None:
    path = example_repo / STAGING
    edit(path, IDENTITY_REF, f"  identityRef:\n    kind: {kind}\n    name: {name}\n")
    assert where(example_repo, "CAPA-C004") == [(STAGING, line_of(path, f"kind: {kind}"))]


def test_c004_near_miss_role_identity_of_another_name(example_repo: Path) -> None:
    edit(example_repo / STAGING, "    name: staging-identity", "    name: live-identity")
    assert where(example_repo, "CAPA-C004") == []


# --- a small bad and good example of each rule (tests/data/rules/controlplanes/) ------------------


@pytest.mark.parametrize("example", examples("controlplanes"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)

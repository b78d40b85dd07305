"""Hub and spoke (CAPA-T003/T004 follow sourceIdentityRef through role identities) and
`sts:TagSession` beside `sts:AssumeRole` in trusts and grants."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check

ROLE = "controllers.cluster-api-provider-aws.sigs.k8s.io"
STAGING_ARN = f"arn:aws:iam::222222222222:role/{ROLE}"
LIVE_ARN = f"arn:aws:iam::333333333333:role/{ROLE}"
MGMT_ARN = f"arn:aws:iam::111111111111:role/{ROLE}"
STAGING_IDENTITY = "overlays/staging/identity.yaml"
STAGING_STACK = "bootstrap/staging.yaml"
LIVE_STACK = "bootstrap/live.yaml"
SOURCE_DEFAULT = "    kind: AWSClusterControllerIdentity\n    name: default\n"
SOURCE_LIVE = "    kind: AWSClusterRoleIdentity\n    name: live-identity\n"
HUB_GRANT = (
    "  clusterAPIControllers:\n    extraStatements:\n    - Effect: Allow\n      Action:\n"
    f"      - sts:AssumeRole\n      Resource:\n      - {STAGING_ARN}\n"
)


def spoke(repo: Path) -> None:
    """staging-identity chains through live-identity: live's role assumes staging's."""
    edit(repo / STAGING_IDENTITY, SOURCE_DEFAULT, SOURCE_LIVE)


def findings(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def test_t003_spoke_must_trust_the_hub_role_not_management(example_repo: Path) -> None:
    spoke(example_repo)
    found = of_rule(run_check(example_repo), "CAPA-T003")
    path = example_repo / STAGING_STACK
    assert [(f.file, f.line) for f in found] == [(STAGING_STACK, line_of(path, MGMT_ARN))]
    assert LIVE_ARN in found[0].message and "hub role of 'live-identity'" in found[0].message
    assert [r.file for r in found[0].related] == ["overlays/live/identity.yaml"]


def test_t004_hub_stack_must_grant_the_spoke(example_repo: Path) -> None:
    spoke(example_repo)
    found = of_rule(run_check(example_repo), "CAPA-T004")
    # The management stack grants staging's role, but CAPA never uses that grant here.
    assert [f.file for f in found] == [LIVE_STACK]
    assert STAGING_ARN in found[0].message and LIVE_ARN in found[0].message


def test_hub_and_spoke_near_miss(example_repo: Path) -> None:
    spoke(example_repo)
    edit(example_repo / STAGING_STACK, MGMT_ARN, LIVE_ARN)
    edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    assert findings(example_repo, "CAPA-T003") == []
    assert findings(example_repo, "CAPA-T004") == []


def test_spoke_trusting_both_hub_and_management_fires(example_repo: Path) -> None:
    spoke(example_repo)
    edit(
        example_repo / STAGING_STACK,
        f"        - {MGMT_ARN}\n",
        f"        - {LIVE_ARN}\n        - {MGMT_ARN}\n",
    )
    edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    assert findings(example_repo, "CAPA-T003") == [
        (STAGING_STACK, line_of(example_repo / STAGING_STACK, MGMT_ARN))
    ]


def test_chain_from_default_still_trusts_management(example_repo: Path) -> None:
    # A target that trusts the hub although its identity chains from default: T003 as before.
    edit(example_repo / STAGING_STACK, MGMT_ARN, LIVE_ARN)
    assert findings(example_repo, "CAPA-T003") == [
        (STAGING_STACK, line_of(example_repo / STAGING_STACK, LIVE_ARN))
    ]


@pytest.mark.parametrize(
    ("granted", "fires"),
    [(False, True), (True, False)],
    ids=["no-stack-grants", "hub-stack-grants"],
)
def test_t004_hand_written_hub_and_spoke(example_repo: Path, granted: bool, fires: bool) -> None:
    (example_repo / "accounts.yaml").unlink()  # judged by content
    spoke(example_repo)
    edit(example_repo / "bootstrap/management.yaml", f"      - {STAGING_ARN}\n", "")
    if granted:
        edit(example_repo / LIVE_STACK, "  clusterAPIControllers:\n", HUB_GRANT)
    # Without accounts.yaml base/ is applied as well: only staging's role is asked about here.
    found = [
        (f.file, f.line)
        for f in of_rule(run_check(example_repo), "CAPA-T004")
        if STAGING_ARN in f.message
    ]
    assert found == (
        [(STAGING_IDENTITY, line_of(example_repo / STAGING_IDENTITY, "roleARN"))] if fires else []
    )


# --- sts:TagSession (EKS Pod Identity) --------------------------------------------------------


@pytest.mark.parametrize(
    "actions",
    [
        "      - sts:AssumeRole\n      - sts:TagSession\n",
        "      - sts:TagSession\n      - sts:AssumeRole\n",
    ],
    ids=["after", "before"],
)
def test_tag_session_beside_assume_role_is_accepted(example_repo: Path, actions: str) -> None:
    for stack in (STAGING_STACK, "bootstrap/management.yaml"):
        edit(example_repo / stack, "      - sts:AssumeRole\n", actions)
    assert findings(example_repo, "CAPA-T003") == []
    assert findings(example_repo, "CAPA-T004") == []


def test_tag_session_alone_is_no_trust(example_repo: Path) -> None:
    edit(example_repo / STAGING_STACK, "      - sts:AssumeRole\n", "      - sts:TagSession\n")
    assert [f for f, _ in findings(example_repo, "CAPA-T003")] == [STAGING_STACK]


@pytest.mark.parametrize(
    ("trusted", "fires"),
    [
        ("arn:aws:iam::333333333333:role/hub-controllers", False),  # the hub's role
        ("arn:aws:iam::333333333333:role/other-role", True),
    ],
    ids=["hub-role", "another-role"],
)
def test_t003_hand_written_spoke_may_trust_the_hub_role(
    example_repo: Path, trusted: str, fires: bool
) -> None:
    (example_repo / "accounts.yaml").unlink()  # judged by content: stacks name no account
    spoke(example_repo)
    edit(
        example_repo / "overlays/live/identity.yaml",
        LIVE_ARN,
        "arn:aws:iam::333333333333:role/hub-controllers",
    )
    edit(example_repo / STAGING_STACK, MGMT_ARN, trusted)
    found = [
        (f.file, f.line)
        for f in of_rule(run_check(example_repo), "CAPA-T003")
        if f.file == STAGING_STACK
    ]
    assert found == (
        [(STAGING_STACK, line_of(example_repo / STAGING_STACK, trusted))] if fires else []
    )

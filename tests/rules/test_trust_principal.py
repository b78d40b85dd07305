"""CAPA-T003 on the whole principal without accounts.yaml (a hand-written repository, a
stream): the management account comes from what the files say (declared, the management
stack's own trust, the targets' agreement), each finding names its evidence; one target and
nothing else is a warning; a stack only a web identity or a service assumes is no target; a
hand-written spoke must trust its hub's role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.cli import main

ROLE = "controllers.cluster-api-provider-aws.sigs.k8s.io"
HEAD = (
    "apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1\nkind: AWSIAMConfiguration\n"
)
# After CAPA's docs/book/src/topics/full-multitenancy-implementation.md (manager account
# 111111111111 with IRSA, managed account 222222222222), cluster-api-provider-aws @ 2cf09d78.
MANAGER = HEAD + (
    "spec:\n  clusterAPIControllers:\n    extraStatements:\n    - Action: [sts:AssumeRole]\n"
    "      Effect: Allow\n"
    f"      Resource: [arn:aws:iam::222222222222:role/{ROLE}]\n"
    "    trustStatements:\n    - Action: [sts:AssumeRoleWithWebIdentity]\n"
    "      Effect: Allow\n      Principal:\n        Federated:\n"
    "        - arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12\n"
)


def target(account: str) -> str:
    return HEAD + (
        "spec:\n  clusterAPIControllers:\n    trustStatements:\n"
        "    - Action: [sts:AssumeRole]\n      Effect: Allow\n"
        f"      Principal:\n        AWS: [arn:aws:iam::{account}:role/{ROLE}]\n"
    )


def t003(*docs: str, args: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    result: Result = CliRunner().invoke(
        main, ["check", "-", "--format", "json", *args], input="---\n".join(docs)
    )
    assert result.exit_code in (0, 1), result.output
    return [
        (f["severity"], f["message"])
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "CAPA-T003"
    ]


def test_another_accounts_capa_is_caught_by_the_management_stacks_own_account() -> None:
    (found,) = t003(MANAGER, target("999999999999"))
    assert found[0] == "error"
    assert f"trusts arn:aws:iam::999999999999:role/{ROLE}" in found[1]
    assert "management stack's own trust names account 111111111111" in found[1]


def test_near_miss_the_management_account_is_trusted() -> None:
    assert t003(MANAGER, target("111111111111")) == []


def test_one_target_alone_is_a_warning_until_the_account_is_declared() -> None:
    (found,) = t003(target("999999999999"))
    assert found[0] == "warning" and "--management-account" in found[1]
    assert t003(target("999999999999"), args=("--management-account", "999999999999")) == []
    (declared,) = t003(target("999999999999"), args=("--management-account", "111111111111"))
    assert declared[0] == "error" and "declared with --management-account" in declared[1]


def test_targets_must_agree_on_one_management_principal() -> None:
    (odd,) = t003(target("111111111111"), target("111111111111"), target("999999999999"))
    assert odd[0] == "error" and "999999999999" in odd[1] and "2 of 3 target stacks" in odd[1]
    tie = t003(target("111111111111"), target("999999999999"))
    assert [s for s, _ in tie] == ["error", "error"]
    assert all("trust different accounts" in m for _, m in tie)
    assert t003(target("111111111111"), target("111111111111")) == []  # the near miss


@pytest.mark.parametrize(
    "principal",
    [
        # CAPA's specify-management-iam-role.md: IRSA, and kiam/kube2iam on the node role
        "Federated:\n        - arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1"
        ".amazonaws.com/id/AB12\n",
        "Service:\n        - ec2.amazonaws.com\n",
    ],
    ids=["web-identity", "service"],
)
def test_the_management_accounts_own_setup_is_no_target(principal: str) -> None:
    doc = HEAD + (
        "spec:\n  clusterAPIControllers:\n    trustStatements:\n"
        "    - Action: [sts:AssumeRoleWithWebIdentity, sts:AssumeRole]\n      Effect: Allow\n"
        f"      Principal:\n        {principal}"
    )
    assert t003(doc) == []


def test_no_message_names_the_management_principal_twice() -> None:
    doc = HEAD + (
        "spec:\n  clusterAPIControllers:\n    trustStatements:\n"
        "    - Action: [sts:TagSession]\n      Effect: Allow\n"
        f"      Principal:\n        AWS: [arn:aws:iam::111111111111:role/{ROLE}]\n"
    )
    (found,) = t003(doc)
    assert "has no Allow sts:AssumeRole trust statement for the management principal" in found[1]
    assert "the management principal the management principal" not in found[1]


# --- hub and spoke in a hand-written repository ---------------------------------------------

MGMT_ARN = f"arn:aws:iam::111111111111:role/{ROLE}"
LIVE_ARN = f"arn:aws:iam::333333333333:role/{ROLE}"


def hand_written_spoke(repo: Path) -> None:
    """No accounts.yaml; staging-identity chains through live-identity (the hub)."""
    (repo / "accounts.yaml").unlink()
    edit(
        repo / "overlays/staging/identity.yaml",
        "    kind: AWSClusterControllerIdentity\n    name: default\n",
        "    kind: AWSClusterRoleIdentity\n    name: live-identity\n",
    )


def test_a_hand_written_spoke_trusting_management_fires(example_repo: Path) -> None:
    hand_written_spoke(example_repo)
    stack = example_repo / "bootstrap/staging.yaml"
    found = [f for f in of_rule(run_check(example_repo), "CAPA-T003") if f.severity == "error"]
    assert [(f.file, f.line) for f in found] == [
        ("bootstrap/staging.yaml", line_of(stack, MGMT_ARN))
    ]
    assert LIVE_ARN in found[0].message and "file name 'staging'" in found[0].message


def test_near_miss_a_hand_written_spoke_trusting_its_hub(example_repo: Path) -> None:
    hand_written_spoke(example_repo)
    edit(example_repo / "bootstrap/staging.yaml", MGMT_ARN, LIVE_ARN)
    found = of_rule(run_check(example_repo), "CAPA-T003")
    assert [f for f in found if f.file == "bootstrap/staging.yaml"] == []

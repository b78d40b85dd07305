"""bootstrap/: the workload identity CAPA runs with (IRSA, EKS Pod Identity, instance profile)
and a target account that is the management account itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import edit, line_of, run_check

from capa_accounts.cli import main

runner = CliRunner()
OIDC = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123ABCDEF"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/0123ABCDEF"
MGMT_ROLE = "arn:aws:iam::111111111111:role/controllers.cluster-api-provider-aws.sigs.k8s.io"
PRINCIPAL_LINE = "    principal: controllersRole"


def management(repo: Path, *lines: str) -> None:
    """Add lines under spec.management of accounts.yaml."""
    text = repo / "accounts.yaml"
    original = text.read_text(encoding="utf-8")
    head, rest = original.split(PRINCIPAL_LINE, 1)
    end = rest.index("\n")
    text.write_text(
        head
        + PRINCIPAL_LINE
        + rest[:end]
        + "\n"
        + "\n".join(f"    {line}" for line in lines)
        + rest[end:],
        encoding="utf-8",
    )


def render(repo: Path) -> Any:
    return runner.invoke(main, ["render", "--repo", str(repo)])


def stack(repo: Path, name: str) -> dict[str, Any]:
    docs = list(yaml.safe_load_all((repo / "bootstrap" / f"{name}.yaml").read_text()))
    assert len(docs) == 1
    return docs[0]["spec"]


def errors(repo: Path) -> list[str]:
    return [
        f"{f.rule} {f.file}:{f.line} {f.message}"
        for f in run_check(repo).findings
        if f.severity == "error"
    ]


# --- IRSA ------------------------------------------------------------------------------------


@pytest.mark.parametrize("service_account", [None, "capi/capa-manager"], ids=["default", "custom"])
def test_irsa_trusts_the_service_account_through_the_oidc_provider(
    example_repo: Path, service_account: str | None
) -> None:
    lines = ["workloadIdentity: irsa", f"oidcProviderARN: {OIDC}"]
    if service_account:
        lines.append(f"serviceAccount: {service_account}")
    management(example_repo, *lines)
    result = render(example_repo)
    assert result.exit_code == 0, result.output
    controllers = stack(example_repo, "management")["clusterAPIControllers"]
    namespace, name = (service_account or "capa-system/capa-controller-manager").split("/")
    assert controllers["trustStatements"] == [
        {
            "Sid": "CapaAccountsTrustServiceAccount",
            "Effect": "Allow",
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Principal": {"Federated": [OIDC]},
            "Condition": {
                "StringEquals": {
                    f"{ISSUER}:sub": f"system:serviceaccount:{namespace}:{name}",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        }
    ]
    # The AssumeRole chain itself is unchanged: IRSA sessions carry no transitive tags.
    assert controllers["extraStatements"][0]["Action"] == ["sts:AssumeRole"]
    assert stack(example_repo, "staging")["clusterAPIControllers"]["trustStatements"][0][
        "Action"
    ] == ["sts:AssumeRole"]
    assert errors(example_repo) == []


@pytest.mark.parametrize(
    "lines", [[], ["workloadIdentity: instanceProfile"]], ids=["absent", "instanceProfile"]
)
def test_instance_profile_adds_no_trust_statement(example_repo: Path, lines: list[str]) -> None:
    """Near miss: CAPA's own template already trusts ec2.amazonaws.com (template.go)."""
    before = (example_repo / "bootstrap/management.yaml").read_text()
    if lines:
        management(example_repo, *lines)
    assert render(example_repo).exit_code == 0
    assert (example_repo / "bootstrap/management.yaml").read_text() == before
    assert "trustStatements" not in stack(example_repo, "management")["clusterAPIControllers"]


@pytest.mark.parametrize(
    ("lines", "key", "message"),
    [
        (["workloadIdentity: irsa"], "workloadIdentity", "irsa needs oidcProviderARN"),
        (
            [
                "workloadIdentity: irsa",
                "oidcProviderARN: " + OIDC.replace("111111111111", "222222222222"),
            ],
            "oidcProviderARN",
            "names account 222222222222",
        ),
        (
            ["workloadIdentity: podIdentity", f"oidcProviderARN: {OIDC}"],
            "oidcProviderARN",
            "only with workloadIdentity: irsa",
        ),
        (
            ["serviceAccount: capa-system/capa-controller-manager"],
            "serviceAccount",
            "only with workloadIdentity: irsa",
        ),
        (
            ["workloadIdentity: irsa", "oidcProviderARN: arn:aws:iam::111111111111:role/x"],
            "oidcProviderARN",
            "does not match",
        ),
        (
            ["workloadIdentity: irsa", f"oidcProviderARN: {OIDC}", "serviceAccount: capa-manager"],
            "serviceAccount",
            "does not match",
        ),
        (["workloadIdentity: irsaa"], "workloadIdentity", "irsa"),
    ],
    ids=[
        "no-arn",
        "other-account",
        "arn-without-irsa",
        "sa-without-irsa",
        "not-oidc-arn",
        "sa-without-namespace",
        "typo",
    ],
)
def test_bad_workload_identity_is_an_input_error_at_its_line(
    example_repo: Path, lines: list[str], key: str, message: str
) -> None:
    management(example_repo, *lines)
    before = (example_repo / "bootstrap/management.yaml").read_text()
    result = render(example_repo)
    assert result.exit_code == 2, result.output
    line = line_of(example_repo / "accounts.yaml", f"{key}:")
    assert f"accounts.yaml:{line}:" in result.output and message in result.output, result.output
    assert (example_repo / "bootstrap/management.yaml").read_text() == before


@pytest.mark.parametrize("setting", ["principal: bootstrapUser", "credentials: operator"])
def test_irsa_or_pod_identity_needs_the_controllers_role(example_repo: Path, setting: str) -> None:
    accounts = example_repo / "accounts.yaml"
    if setting.startswith("principal"):
        edit(accounts, "principal: controllersRole", setting)
        management_line = "    principal: bootstrapUser"
        edit(accounts, management_line, management_line + "\n    workloadIdentity: podIdentity")
    else:
        edit(accounts, "credentials: roleIdentity", setting)
        management(example_repo, "workloadIdentity: podIdentity")
    result = render(example_repo)
    assert result.exit_code == 2, result.output
    assert f"accounts.yaml:{line_of(accounts, 'workloadIdentity:')}:" in result.output


# --- EKS Pod Identity --------------------------------------------------------------------------


def test_pod_identity_grants_and_trusts_tag_session(example_repo: Path) -> None:
    management(example_repo, "workloadIdentity: podIdentity")
    assert render(example_repo).exit_code == 0
    both = ["sts:AssumeRole", "sts:TagSession"]
    (grant,) = stack(example_repo, "management")["clusterAPIControllers"]["extraStatements"]
    assert grant["Action"] == both
    # pods.eks.amazonaws.com is trusted by CAPA's own template; no statement of ours is needed.
    assert "trustStatements" not in stack(example_repo, "management")["clusterAPIControllers"]
    for account in ("staging", "live"):
        (trust,) = stack(example_repo, account)["clusterAPIControllers"]["trustStatements"]
        assert trust["Action"] == both
        assert trust["Principal"] == {"AWS": [MGMT_ROLE]}
    # T003 and T004 accept the statements that also allow sts:TagSession.
    assert errors(example_repo) == []


def test_pod_identity_tag_session_missing_from_a_target_is_drift(example_repo: Path) -> None:
    """A hand edit back to AssumeRole alone is caught: render would write TagSession."""
    management(example_repo, "workloadIdentity: podIdentity")
    assert render(example_repo).exit_code == 0
    edit(example_repo / "bootstrap/live.yaml", "      - sts:TagSession\n", "")
    assert any(e.startswith("CAPA-R001 bootstrap/live.yaml") for e in errors(example_repo))


# --- a target in the management account -------------------------------------------------------


def self_target(repo: Path) -> None:
    edit(repo / "accounts.yaml", 'accountId: "333333333333"', 'accountId: "111111111111"')


def test_target_in_the_management_account_is_merged_into_one_stack(example_repo: Path) -> None:
    self_target(example_repo)
    result = render(example_repo)
    assert result.exit_code == 0, result.output
    assert "account 'live' is the management account (111111111111)" in result.output
    assert "bootstrap/management.yaml" in result.output
    assert not (example_repo / "bootstrap/live.yaml").exists()
    spec = stack(example_repo, "management")
    controllers = spec["clusterAPIControllers"]
    assert controllers["extraStatements"][0]["Resource"] == [
        MGMT_ROLE,
        MGMT_ROLE.replace("111111111111", "222222222222"),
    ]
    # The role trusts itself explicitly: IAM no longer lets a role assume itself implicitly.
    assert controllers["trustStatements"] == [
        {
            "Sid": "CapaAccountsTrustManagement",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Principal": {"AWS": [MGMT_ROLE]},
        }
    ]
    assert spec["eks"] == {"iamRoleCreation": False, "managedMachinePool": {"disable": False}}
    assert errors(example_repo) == []
    check = runner.invoke(main, ["render", "--check", "--repo", str(example_repo)])
    assert check.exit_code == 0, check.output


def test_two_targets_in_the_management_account_share_one_trust(example_repo: Path) -> None:
    self_target(example_repo)
    edit(example_repo / "accounts.yaml", 'accountId: "222222222222"', 'accountId: "111111111111"')
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      iamRoleCreation: true\n",
    )
    result = render(example_repo)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (example_repo / "bootstrap").iterdir()) == ["management.yaml"]
    spec = stack(example_repo, "management")
    assert len(spec["clusterAPIControllers"]["trustStatements"]) == 1
    assert spec["eks"]["iamRoleCreation"] is True  # one stack: the wider setting is kept


def test_target_elsewhere_keeps_its_own_stack(example_repo: Path) -> None:
    """Near miss: distinct accounts, no warning, no trust on the management role."""
    result = render(example_repo)
    assert result.exit_code == 0 and "management account" not in result.output
    assert (example_repo / "bootstrap/live.yaml").exists()
    assert "eks" not in stack(example_repo, "management")


def test_target_in_the_management_account_with_another_role_name_is_refused(
    example_repo: Path,
) -> None:
    self_target(example_repo)
    edit(
        example_repo / "accounts.yaml",
        '      accountId: "111111111111"\n      region',
        '      accountId: "111111111111"\n      nameSuffix: -live\n      region',
    )
    result = render(example_repo)
    assert result.exit_code == 2, result.output
    lines = (example_repo / "accounts.yaml").read_text().splitlines()
    line = max(i for i, text in enumerate(lines, 1) if 'accountId: "111111111111"' in text)
    assert f"accounts.yaml:{line}:" in result.output and "one clusterawsadm stack" in result.output
    assert (example_repo / "bootstrap/live.yaml").exists()  # nothing written


def test_add_account_in_the_management_account_warns_and_merges(example_repo: Path) -> None:
    result = runner.invoke(
        main,
        [
            "add-account",
            "tools",
            "--account-id",
            "111111111111",
            "--region",
            "eu-west-1",
            "--repo",
            str(example_repo),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: account 'tools' is the management account (111111111111)" in result.output
    assert not (example_repo / "bootstrap/tools.yaml").exists()
    assert "trustStatements" in stack(example_repo, "management")["clusterAPIControllers"]


def test_targets_in_the_management_account_with_distinct_external_ids(example_repo: Path) -> None:
    """Attack: two merged trusts that differ must not share a Sid (IAM refuses the policy)."""
    self_target(example_repo)
    accounts = example_repo / "accounts.yaml"
    edit(accounts, 'accountId: "222222222222"', 'accountId: "111111111111"')
    edit(accounts, "    - name: live\n", "    - name: live\n      externalID: live-id\n")
    assert render(example_repo).exit_code == 0
    trust = stack(example_repo, "management")["clusterAPIControllers"]["trustStatements"]
    assert len(trust) == 2 and len({t["Sid"] for t in trust}) == 2
    assert [t.get("Condition") for t in trust] == [
        None,
        {"StringEquals": {"sts:ExternalId": "live-id"}},
    ]
    assert errors(example_repo) == []

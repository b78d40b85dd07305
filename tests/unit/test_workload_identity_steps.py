"""IRSA and EKS Pod Identity, finished: bootstrap/management.yaml says what joins CAPA's pods
to the controllers role once the stack exists."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import edit
from kustomize_tools import kubectl

from capa_accounts.cli import main

runner = CliRunner()
ROLE_ARN = "arn:aws:iam::111111111111:role/controllers.cluster-api-provider-aws.sigs.k8s.io"
OIDC = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"


def management_stack(repo: Path, setting: str) -> str:
    edit(repo / "accounts.yaml", "    principal: controllersRole", setting)
    result = runner.invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return (repo / "bootstrap/management.yaml").read_text(encoding="utf-8")


def commands(header: str) -> list[list[str]]:
    """The shell commands of the comment header, continuation lines joined."""
    lines = [line[2:] for line in header.splitlines() if line.startswith("# ")]
    joined = "\n".join(lines).replace("\\\n", " ")
    steps = joined.split("\nthen", 1)[1] if "\nthen" in joined else ""
    return [
        shlex.split(line) for line in steps.splitlines() if line.startswith(("kubectl", "clus"))
    ]


@pytest.mark.e2e  # a real kustomize builds it
def test_irsa_names_the_annotation_and_the_restart(example_repo: Path, tmp_path: Path) -> None:
    text = management_stack(
        example_repo,
        f"    principal: controllersRole\n    workloadIdentity: irsa\n    oidcProviderARN: {OIDC}",
    )
    annotate, restart = commands(text.split("apiVersion:", 1)[0])
    assert annotate[:5] == ["kubectl", "annotate", "serviceaccount", "--namespace", "capa-system"]
    assert annotate[5:] == ["capa-controller-manager", f"eks.amazonaws.com/role-arn={ROLE_ARN}"]
    assert restart == [
        "kubectl", "rollout", "restart", "deployment", "--namespace", "capa-system",
        "capa-controller-manager",
    ]  # fmt: skip
    # The annotation argument is one kubectl accepts, applied to CAPA's ServiceAccount offline.
    account = tmp_path / "sa.yaml"
    account.write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
        "  name: capa-controller-manager\n  namespace: capa-system\n",
        encoding="utf-8",
    )
    exe = kubectl()
    assert exe, "kubectl is required"
    out = subprocess.run(
        [exe, "annotate", "--local", "-f", str(account), annotate[-1], "-o", "yaml"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    annotated = yaml.safe_load(out.stdout)
    assert annotated["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}


def test_pod_identity_names_the_association(example_repo: Path) -> None:
    text = management_stack(
        example_repo, "    principal: controllersRole\n    workloadIdentity: podIdentity"
    )
    (associate,) = commands(text.split("apiVersion:", 1)[0])
    assert associate[:3] == ["clusterawsadm", "controller", "use-pod-identity"]
    assert "--role-name" in associate
    assert associate[associate.index("--role-name") + 1] == ROLE_ARN.rsplit("/", 1)[1]


@pytest.mark.parametrize("setting", ["    principal: controllersRole"], ids=["instance-profile"])
def test_an_instance_profile_needs_no_step(example_repo: Path, setting: str) -> None:
    text = management_stack(example_repo, setting)
    assert commands(text.split("apiVersion:", 1)[0]) == []

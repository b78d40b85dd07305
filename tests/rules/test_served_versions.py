"""Every API version is schema-checked, and a version CAPA no longer serves is named (CAPA-R004,
CAPA-R011): CAPA's multitenancy docs still write v1beta1 identities, which v2.4.0 stopped
serving."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import CAPA_REFERENCE, line_of, of_rule, run_check

from capa_accounts.cli import main

V1BETA1 = "infrastructure.cluster.x-k8s.io/v1beta1"
EXTRA = "extra/identities.yaml"

ROLE = f"""apiVersion: {V1BETA1}
kind: AWSClusterRoleIdentity
metadata: {{name: team-a}}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  allowedNamespaces: {{list: [staging]}}
  sourceIdentityRef: {{kind: AWSClusterControllerIdentity, name: default}}
"""
CONTROLLER = f"""apiVersion: {V1BETA1}
kind: AWSClusterControllerIdentity
metadata: {{name: default}}
spec:
  allowedNamespaces: {{list: [staging, live]}}
"""
STATIC = f"""apiVersion: {V1BETA1}
kind: AWSClusterStaticIdentity
metadata: {{name: team-b}}
spec:
  secretRef: team-b-credentials
  allowedNamespaces: {{list: [staging]}}
"""

# (id, document, old text, new text, needle on the finding's line, message part)
BROKEN = [
    (
        "role-sourceidentityRef",
        ROLE,
        "sourceIdentityRef:",
        "sourceidentityRef:",
        "sourceidentityRef",
        "did you mean 'sourceIdentityRef'",
    ),
    (
        "role-allowedNamespaces-list",
        ROLE,
        "  allowedNamespaces: {list: [staging]}\n",
        "  allowedNamespaces:\n    - staging\n",
        "- staging",
        "must be a mapping, not a list",
    ),
    (
        "static-spec-string",
        STATIC,
        "spec:\n  secretRef: team-b-credentials\n  allowedNamespaces: {list: [staging]}\n",
        "spec: oops\n",
        "spec:",
        "must be a mapping, not a string",
    ),
    (
        "controller-allowedNamespace",
        CONTROLLER,
        "allowedNamespaces:",
        "allowedNamespace:",
        "allowedNamespace:",
        "did you mean 'allowedNamespaces'",
    ),
]


def write(repo: Path, text: str) -> Path:
    path = repo / EXTRA
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("doc", "old", "new", "needle", "says"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_r004_checks_v1beta1_identities_as_v1beta2(
    example_repo: Path, doc: str, old: str, new: str, needle: str, says: str
) -> None:
    assert old in doc
    path = write(example_repo, doc.replace(old, new))
    found = [f for f in of_rule(run_check(example_repo), "CAPA-R004") if f.file == EXTRA]
    assert [f.line for f in found] == [line_of(path, needle)]
    assert says in found[0].message


@pytest.mark.parametrize("doc", [ROLE, CONTROLLER, STATIC], ids=["role", "controller", "static"])
def test_r004_quiet_on_a_well_formed_v1beta1_identity(example_repo: Path, doc: str) -> None:
    write(example_repo, doc)
    assert [f for f in of_rule(run_check(example_repo), "CAPA-R004") if f.file == EXTRA] == []


def test_a_misspelt_source_ref_is_not_blamed_on_the_chain_alone(example_repo: Path) -> None:
    # Before v1beta1 was checked, the typo surfaced only as I007 ("no sourceIdentityRef").
    write(example_repo, ROLE.replace("sourceIdentityRef:", "sourceidentityRef:"))
    report = run_check(example_repo)
    rules = {f.rule for f in report.findings if f.file == EXTRA}
    assert {"CAPA-R004", "CAPA-I007"} <= rules


@pytest.mark.parametrize("doc", [ROLE, CONTROLLER, STATIC], ids=["role", "controller", "static"])
def test_r011_names_the_unserved_version(example_repo: Path, doc: str) -> None:
    path = write(example_repo, doc)
    found = [f for f in of_rule(run_check(example_repo), "CAPA-R011") if f.file == EXTRA]
    assert [(f.line, f.column) for f in found] == [(line_of(path, "apiVersion:"), 13)]
    assert "only as v1beta2 since v2.4.0" in found[0].message


def test_r011_quiet_on_v1beta2_and_on_capis_own_v1beta1_kinds(example_repo: Path) -> None:
    write(
        example_repo,
        ROLE.replace(V1BETA1, "infrastructure.cluster.x-k8s.io/v1beta2")
        + "---\napiVersion: controlplane.cluster.x-k8s.io/v1beta1\nkind: KubeadmControlPlane\n"
        "metadata: {name: cp, namespace: staging}\nspec: {}\n",
    )
    assert of_rule(run_check(example_repo), "CAPA-R011") == []


needs_reference = pytest.mark.skipif(
    not CAPA_REFERENCE.is_dir(), reason="../shared/capa-reference is not present"
)
ROLE_CRD = CAPA_REFERENCE / "crds" / "infrastructure.cluster.x-k8s.io_awsclusterroleidentities.yaml"


@needs_reference
def test_r011_follows_the_served_flags_of_crd(example_repo: Path, tmp_path: Path) -> None:
    write(example_repo, ROLE.replace("sourceIdentityRef:", "sourceidentityRef:"))
    # The CRDs of today: v1beta1 is served: false, and the built-in v1beta1 schema still checks.
    report = run_check(example_repo, crds=(ROLE_CRD,))
    assert [f.file for f in of_rule(report, "CAPA-R011")] == [EXTRA]
    assert "given with --crd" in of_rule(report, "CAPA-R011")[0].message
    assert [f.file for f in of_rule(report, "CAPA-R004")] == [EXTRA]
    # CAPA v2.3's CRD served v1beta1: no R011, and its schema finds the typo.
    crd = yaml.safe_load(ROLE_CRD.read_text())
    for version in crd["spec"]["versions"]:
        version["served"] = True
    old = tmp_path / "v2.3-roleidentities.yaml"
    old.write_text(yaml.safe_dump(crd))
    report = run_check(example_repo, crds=(old,))
    assert of_rule(report, "CAPA-R011") == []
    assert [f.file for f in of_rule(report, "CAPA-R004")] == [EXTRA]


@pytest.mark.parametrize(
    ("kind", "fires"),
    [("<IdentityType>", True), ("AWSClusterRoleIdentity", False)],
    ids=["placeholder-kind", "role-identity"],
)
def test_a_v1beta1_awscluster_has_its_identity_ref_judged(kind: str, fires: bool) -> None:
    """The rest of v1beta1's AWSCluster spec differs from v1beta2's and stays open; its
    identityRef is the same AWSIdentityReference in both versions."""
    text = (
        "apiVersion: infrastructure.cluster.x-k8s.io/v1beta1\nkind: AWSCluster\n"
        "metadata: {name: test, namespace: test}\n"
        f"spec:\n  region: eu-west-1\n  somethingOld: 1\n  identityRef:\n    kind: {kind}\n"
        "    name: x\n"
    )
    result = CliRunner().invoke(main, ["check", "-"], input=text)
    r004 = [line for line in result.output.splitlines() if "[CAPA-R004]" in line]
    assert bool(r004) is fires, result.output
    if fires:
        assert all("identityRef.kind" in line for line in r004), r004

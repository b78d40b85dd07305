"""Every object that carries an identityRef is judged: AWSCluster (non-EKS) and the ROSA kinds,
beside AWSManagedControlPlane (CAPA-C001 … C004, D001, R004, O002)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import edit, line_of, of_rule, run_check
from gitrepo import git

from capa_accounts.core.schema import registry
from capa_accounts.core.schema.validator import validate
from capa_accounts.kustomize_plugin import generated, render

EXTRA = "workloads/staging.yaml"
ROLE_REF = "  identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}\n"

AWS_CLUSTER = """apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata: {name: staging-ec2, namespace: staging}
spec:
  region: eu-west-1
  sshKeyName: default
"""

# (apiVersion, kind) of every kind whose identityRef picks CAPA's credentials, besides EKS.
KINDS = [
    ("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster"),
    ("controlplane.cluster.x-k8s.io/v1beta2", "ROSAControlPlane"),
    ("infrastructure.cluster.x-k8s.io/v1beta2", "ROSANetwork"),
    ("infrastructure.cluster.x-k8s.io/v1beta2", "RosaNetwork"),
    ("infrastructure.cluster.x-k8s.io/v1beta2", "ROSARoleConfig"),
]


def write(repo: Path, text: str) -> Path:
    path = repo / EXTRA
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def one(api_version: str, kind: str, spec: str = "  region: eu-west-1\n") -> str:
    return (
        f"apiVersion: {api_version}\nkind: {kind}\n"
        f"metadata: {{name: staging-x, namespace: staging}}\nspec:\n{spec}"
    )


def lines(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


@pytest.mark.parametrize(("api_version", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_c001_fires_on_every_kind_without_identity_ref(
    example_repo: Path, api_version: str, kind: str
) -> None:
    path = write(example_repo, one(api_version, kind))
    found = of_rule(run_check(example_repo), "CAPA-C001")
    assert [(f.file, f.line) for f in found] == [(EXTRA, line_of(path, "spec:"))]
    assert kind in found[0].message and "management account" in found[0].message


@pytest.mark.parametrize(("api_version", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_c001_near_miss_with_the_accounts_identity(
    example_repo: Path, api_version: str, kind: str
) -> None:
    write(example_repo, one(api_version, kind, ROLE_REF + "  region: eu-west-1\n"))
    report = run_check(example_repo)
    assert [
        f
        for f in report.findings
        if f.rule in ("CAPA-C001", "CAPA-C002", "CAPA-C003", "CAPA-C004", "CAPA-R004")
    ] == []


def test_c001_fires_on_a_misspelt_identity_ref_of_aws_cluster(example_repo: Path) -> None:
    path = write(example_repo, AWS_CLUSTER + ROLE_REF.replace("identityRef", "identityref"))
    report = run_check(example_repo)
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-R004")] == [
        (EXTRA, line_of(path, "identityref"))
    ]
    assert [(f.file, f.line) for f in of_rule(report, "CAPA-C001")] == [
        (EXTRA, line_of(path, "spec:"))
    ]


def test_c004_fires_on_aws_cluster_using_default(example_repo: Path) -> None:
    path = write(
        example_repo,
        AWS_CLUSTER + "  identityRef: {kind: AWSClusterControllerIdentity, name: default}\n",
    )
    assert lines(example_repo, "CAPA-C004") == [(EXTRA, line_of(path, "identityRef"))]


def test_c002_and_c003_follow_aws_cluster(example_repo: Path) -> None:
    path = write(example_repo, AWS_CLUSTER + ROLE_REF.replace("staging-identity", "stagin-x"))
    assert lines(example_repo, "CAPA-C002") == [(EXTRA, line_of(path, "stagin-x"))]
    write(example_repo, AWS_CLUSTER + ROLE_REF.replace("staging-identity", "live-identity"))
    found = of_rule(run_check(example_repo), "CAPA-C003")
    assert [(f.file, f.line) for f in found] == [(EXTRA, line_of(path, "live-identity"))]
    assert "'live-identity'" in found[0].message


def test_operator_mode_aws_cluster_needs_no_identity_ref(example_repo: Path) -> None:
    operator(example_repo)
    write(
        example_repo,
        AWS_CLUSTER.replace(
            "namespace: staging}",
            "namespace: staging, labels: {cluster.x-k8s.io/watch-filter: staging}}",
        ),
    )
    assert lines(example_repo, "CAPA-C001") == []


def operator(repo: Path) -> None:
    edit(repo / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
    generated.apply(repo, generated.changes(repo, render.plan(repo)))


@pytest.mark.parametrize(
    ("value", "fires"), [("live", True), ("staging", False)], ids=["another-account", "own-account"]
)
def test_o002_on_aws_cluster_with_a_watch_filter(
    example_repo: Path, value: str, fires: bool
) -> None:
    operator(example_repo)
    path = write(
        example_repo,
        AWS_CLUSTER.replace(
            "namespace: staging}",
            f"namespace: staging, labels: {{cluster.x-k8s.io/watch-filter: {value}}}}}",
        ),
    )
    found = of_rule(run_check(example_repo), "CAPA-O002")
    assert [(f.file, f.line, f.resource.kind) for f in found] == (
        [(EXTRA, line_of(path, "watch-filter"), "AWSCluster")] if fires else []
    )
    assert all(
        "'live'" in f.message
        and "provider 'aws-live'" in f.message
        and "another account's keys" in f.message
        for f in found
    )


# --- schemas ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_version", "kind"), KINDS, ids=[k for _, k in KINDS])
@pytest.mark.parametrize(
    ("ref", "bad"),
    [
        ({"kind": "AWSClusterRoleIdentity", "name": "staging-identity"}, False),
        ({"kind": "AWSClusterRoleIdentity"}, True),
        ({"kind": "RoleIdentity", "name": "x"}, True),
        ({"kind": "AWSClusterRoleIdentity", "name": ""}, True),
        ("staging-identity", True),
    ],
    ids=["valid", "no-name", "bad-kind", "empty-name", "string"],
)
def test_builtin_schema_judges_identity_ref(
    api_version: str, kind: str, ref: object, bad: bool
) -> None:
    check = registry.schema_check(api_version, kind)
    assert check is not None
    doc = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x"},
        "spec": {"identityRef": ref, "region": "eu-west-1"},
    }
    problems = validate(check, doc)
    assert bool(problems) == bad
    assert all(p.path[:2] == ("spec", "identityRef") for p in problems)


# --- D001 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "fires"),
    [
        (ROLE_REF.replace("staging-identity", "live-identity"), True),
        ("", True),  # a removed identityRef is `default`: the management account
        (ROLE_REF, False),
    ],
    ids=["other-account", "removed", "unchanged"],
)
def test_d001_fires_when_aws_cluster_changes_identity(
    example_repo: Path, monkeypatch: pytest.MonkeyPatch, now: str, fires: bool
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(example_repo.parent))
    path = write(example_repo, AWS_CLUSTER + ROLE_REF)
    git(example_repo, "init", "-q")
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-q", "-m", "init")
    write(example_repo, AWS_CLUSTER + now)
    found = [
        (f.file, f.resource.kind)
        for f in run_check(example_repo, base_ref="HEAD").findings
        if f.rule == "CAPA-D001"
    ]
    assert found == ([(EXTRA, "AWSCluster")] if fires else [])
    assert path.exists()


# --- render: a self-managed base gets the account's identity ------------------------------------

SELF_MANAGED = """apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: cluster
spec:
  infrastructureRef:
    apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
    kind: AWSCluster
    name: cluster
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata:
  name: cluster
spec:
  region: us-east-1
  sshKeyName: default
"""


@pytest.mark.parametrize("mode", ["roleIdentity", "operator"])
def test_render_points_a_self_managed_aws_cluster_at_the_account(
    example_repo: Path, mode: str
) -> None:
    (example_repo / "base/cluster.yaml").write_text(SELF_MANAGED, encoding="utf-8")
    edit(example_repo / "accounts.yaml", "credentials: roleIdentity", f"credentials: {mode}")
    generated.apply(example_repo, generated.changes(example_repo, render.plan(example_repo)))
    rendered = (example_repo / "overlays/staging/cluster-staging.yaml").read_text()
    cluster = next(d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "AWSCluster")
    expected = (
        {"kind": "AWSClusterRoleIdentity", "name": "staging-identity"}
        if mode == "roleIdentity"
        else {"kind": "AWSClusterControllerIdentity", "name": "default"}
    )
    assert cluster["spec"]["identityRef"] == expected
    assert cluster["spec"]["region"] == "eu-west-1"  # the account's, not the base's
    report = run_check(example_repo)
    assert [
        f.text()
        for f in report.findings
        if f.rule in ("CAPA-C001", "CAPA-C003", "CAPA-C004", "CAPA-O002")
    ] == []

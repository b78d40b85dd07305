"""Cluster rules CAPA-C005 … C008: the control plane agrees with its cluster's declaration
(region, version), a Cluster's objects stay together, and EKS takes the cluster's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.kustomize_plugin import generated, render

STAGING = "overlays/staging/cluster-staging.yaml"
CLUSTER = STAGING
RULES = [f"CAPA-C00{n}" for n in range(5, 9)]


def where(repo: Path, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in of_rule(run_check(repo), rule)]


def found(repo: Path, rule: str) -> list[tuple[str, int]]:
    return where(repo, rule)


def test_pristine_example_has_no_cluster_findings(example_repo: Path) -> None:
    report = run_check(example_repo)
    assert [f for f in report.findings if f.rule in RULES] == []


# --- C005 -------------------------------------------------------------------------------------


def _two_clusters(repo: Path) -> None:
    """`live` gets clusters live-eu and live-us (us-east-1), rendered as `render` would."""
    live = (
        '      accountId: "333333333333"\n      region: eu-west-1\n'
        '      kubernetesVersion: "1.35"\n'
    )
    edit(
        repo / "accounts.yaml",
        live,
        live + "      clusters:\n        - name: live-eu\n"
        "        - name: live-us\n          region: us-east-1\n",
    )
    generated.apply(repo, generated.changes(repo, render.plan(repo)))


def test_c005_two_cluster_account_rendered_is_clean(example_repo: Path) -> None:
    _two_clusters(example_repo)
    report = run_check(example_repo)
    assert "region: us-east-1" in (example_repo / "overlays/live/cluster-live-us.yaml").read_text()
    assert of_rule(report, "CAPA-C005") == [] and of_rule(report, "CAPA-R001") == []


def test_c005_fires_on_a_hand_edited_region(example_repo: Path) -> None:
    _two_clusters(example_repo)
    path = example_repo / "overlays/live/cluster-live-us.yaml"
    edit(path, "region: us-east-1", "region: eu-west-1")
    found = of_rule(run_check(example_repo), "CAPA-C005")
    rel = "overlays/live/cluster-live-us.yaml"
    assert [(f.file, f.line) for f in found] == [(rel, line_of(path, "region: eu-west-1"))]
    assert "'us-east-1'" in found[0].message and "'live-us'" in found[0].message
    accounts = example_repo / "accounts.yaml"
    assert [(r.file, r.line) for r in found[0].related] == [
        ("accounts.yaml", line_of(accounts, "region: us-east-1"))
    ]


def test_c005_fires_on_account_region(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(path, "region: eu-west-1", "region: eu-central-1")
    assert where(example_repo, "CAPA-C005") == [(STAGING, line_of(path, "eu-central-1"))]


# --- C006 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "fires"),
    [
        ("'1.35.0-eks-1'", True),
        ("'1.34'", True),
        ("1.35", True),
        ("'v1.35.2'", False),
        ("'1.35.0'", False),
        ("v1.35", False),
    ],
    ids=["eks-suffix", "other-minor", "unquoted-number", "patch-with-v", "patch", "v-prefix"],
)
def test_c006_version(example_repo: Path, version: str, fires: bool) -> None:
    path = example_repo / STAGING
    edit(path, "version: '1.35'", f"version: {version}")
    expected = [(STAGING, line_of(path, f"version: {version}"))] if fires else []
    assert where(example_repo, "CAPA-C006") == expected


def test_c006_pattern_without_accounts_yaml(example_repo: Path) -> None:
    (example_repo / "accounts.yaml").unlink()
    path = example_repo / STAGING
    edit(path, "version: '1.35'", "version: 1.35.0-eks-1")
    assert where(example_repo, "CAPA-C006") == [(STAGING, line_of(path, "eks-1"))]


# --- C007 -------------------------------------------------------------------------------------


def test_c007_fires_on_a_control_plane_in_another_namespace(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(
        path,
        "  name: staging-control-plane\n  namespace: staging",
        "  name: staging-control-plane\n  namespace: live",
    )
    found = of_rule(run_check(example_repo), "CAPA-C007")
    assert [(f.file, f.line) for f in found] == [(STAGING, line_of(path, "namespace: live"))]
    assert [(r.file, r.line) for r in found[0].related] == [
        (STAGING, line_of(path, "    name: staging-control-plane"))
    ]


def test_c007_fires_on_a_dangling_ref(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(path, "    name: staging-control-plane", "    name: staging-cp")
    assert where(example_repo, "CAPA-C007") == [(STAGING, line_of(path, "name: staging-cp"))]


def test_c007_fires_on_a_machine_pool_in_another_namespace(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(
        path,
        "  name: staging-pool-0\n  namespace: staging",
        "  name: staging-pool-0\n  namespace: live",
    )
    found = where(example_repo, "CAPA-C007")
    assert (STAGING, line_of(path, "namespace: live")) in found


def test_c007_near_miss_explicit_same_namespace(example_repo: Path) -> None:
    path = example_repo / STAGING
    edit(
        path,
        "    name: staging-control-plane",
        "    name: staging-control-plane\n    namespace: staging",
    )
    assert where(example_repo, "CAPA-C007") == []


# --- C008 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fires"),
    [
        ("staging.eu-west-1", True),
        ("-staging", True),
        ("_staging", True),
        ("staging eu", True),
        ("a" * 101, True),
        ("a" * 100, False),
        ("Staging_EU-1", False),
        ("1staging", False),
        ("''", False),  # empty: CAPA derives one
    ],
    ids=[
        "dot",
        "leading-dash",
        "leading-underscore",
        "space",
        "101-chars",
        "100-chars",
        "mixed",
        "leading-digit",
        "empty",
    ],
)
def test_c008_eks_cluster_name(example_repo: Path, name: str, fires: bool) -> None:
    path = example_repo / CLUSTER
    edit(path, "  eksClusterName: staging\n", f"  eksClusterName: {name}\n")
    expected = [(CLUSTER, line_of(path, "eksClusterName:"))] if fires else []
    assert found(example_repo, "CAPA-C008") == expected


# --- a small bad and good example of each rule (tests/data/rules/clusters/) -----------------------


@pytest.mark.parametrize("example", examples("clusters"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)

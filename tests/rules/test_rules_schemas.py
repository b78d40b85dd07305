"""CAPA-R004 through `check`: every typo at its line, and judged as the API server stores it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CAPA_REFERENCE, edit, line_of, of_rule, run_check
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main

CASES = [
    (
        "unknown-control-plane-field",
        "overlays/staging/cluster-staging.yaml",
        "  eksClusterName: staging\n",
        "  eksClusterName: staging\n  regoin: eu-west-1\n",
        "regoin",
        "did you mean 'region'",
        (),
    ),
    (
        "allowedNamespaces.lists",
        "overlays/staging/identity.yaml",
        "  allowedNamespaces:\n    list:\n",
        "  allowedNamespaces:\n    lists:\n",
        "lists:",
        "did you mean 'list'",
        ("CAPA-I002",),
    ),
    (
        "machine-pool-enum",
        "overlays/live/cluster-live.yaml",
        "amiType: AL2023_x86_64_STANDARD",
        "amiType: AL2023_x86_64_FAST",
        "amiType",
        "AL2023_x86_64_FAST",
        (),
    ),
    (
        "iam-resource-string",
        "bootstrap/management.yaml",
        "      Resource:\n"
        "      - arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io\n"
        "      - arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io\n",
        "      Resource: arn:aws:iam::*:role/controllers.cluster-api-provider-aws.sigs.k8s.io\n",
        "Resource:",
        "must be a list",
        (),
    ),
    (
        "flux-prune-yes",
        "clusters/management/capa-staging.yaml",
        "prune: true",
        'prune: "yes"',
        "prune:",
        "must be true or false",
        (),
    ),
    (
        "identityref",
        "overlays/staging/cluster-staging.yaml",
        "identityRef:",
        "identityref:",
        "identityref:",
        "did you mean 'identityRef'",
        ("CAPA-C001",),
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "old", "new", "needle", "message", "also"), CASES, ids=[c[0] for c in CASES]
)
def test_r004_fires_at_the_field(
    example_repo: Path,
    case: str,
    file: str,
    old: str,
    new: str,
    needle: str,
    message: str,
    also: tuple[str, ...],
) -> None:
    edit(example_repo / file, old, new)
    report = run_check(example_repo)
    found = of_rule(report, "CAPA-R004")
    assert [(f.file, f.line) for f in found] == [(file, line_of(example_repo / file, needle))]
    assert message in found[0].message
    for rule in also:
        # The unknown key is absent for every other rule, as the API server would store it.
        assert [f.file for f in of_rule(report, rule)] == [file], rule


def test_the_rendered_example_has_no_schema_findings(example_repo: Path) -> None:
    assert of_rule(run_check(example_repo), "CAPA-R004") == []


@pytest.mark.e2e  # slow: out of the fast lane
@pytest.mark.skipif(not (CAPA_REFERENCE / "crds").is_dir(), reason="shared CAPA reference absent")
def test_check_with_user_crds_including_a_release_bundle(
    example_repo: Path, tmp_path: Path
) -> None:
    crds = sorted((CAPA_REFERENCE / "crds").glob("*.yaml"))
    bundle = tmp_path / "infrastructure-components.yaml"
    bundle.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: capa-system}\n---\n"
        + "\n---\n".join(p.read_text() for p in crds)
    )
    edit(
        example_repo / "overlays/staging/cluster-staging.yaml",
        "  eksClusterName: staging\n",
        "  eksClusterName: staging\n  regoin: eu-west-1\n",
    )
    runner = CliRunner()
    for crd in (bundle, CAPA_REFERENCE / "crds"):
        result = runner.invoke(main, ["check", "--repo", str(example_repo), "--crd", str(crd)])
        assert result.exit_code == 1, result.output
        assert "[CAPA-R004] spec.regoin: unknown field 'regoin'" in result.output
    missing = runner.invoke(
        main, ["check", "--repo", str(example_repo), "--crd", str(tmp_path / "nope.yaml")]
    )
    assert missing.exit_code == 2


# --- AWSIAMConfiguration v1alpha1 `eks.enable`, removed upstream --------------------------------


@pytest.mark.parametrize(
    ("api_version", "key", "fires"),
    [
        ("v1alpha1", "enable: false", True),  # meant "no EKS": clusterawsadm grants EKS anyway
        ("v1alpha1", "enable: true", True),
        ("v1alpha1", "disable: true", False),
        ("v1beta1", "disable: false", False),
    ],
    ids=["v1alpha1-enable-false", "v1alpha1-enable-true", "v1alpha1-disable", "v1beta1-disable"],
)
def test_v1alpha1_eks_enable_is_flagged(
    example_repo: Path, api_version: str, key: str, fires: bool
) -> None:
    path = example_repo / "bootstrap/staging.yaml"
    edit(path, "/v1beta1\n", f"/{api_version}\n")
    edit(path, "  eks:\n", f"  eks:\n    {key}\n")
    found = [
        f
        for f in of_rule(run_check(example_repo), "CAPA-R004")
        if f.file == "bootstrap/staging.yaml"
    ]
    assert [(f.line, f.column) for f in found] == ([(line_of(path, key), 5)] if fires else [])
    assert all("removed upstream" in f.message and "eks.disable: true" in f.message for f in found)


@pytest.mark.parametrize("api_version", ["v1alpha1", "v1beta1"])
def test_v1alpha1_allow_assume_role_is_dropped(example_repo: Path, api_version: str) -> None:
    # clusterawsadm's v1alpha1 has no allowAssumeRole: the grant it seems to give does not exist.
    path = example_repo / "bootstrap/management.yaml"
    edit(path, "/v1beta1\n", f"/{api_version}\n")
    edit(path, "spec:\n", "spec:\n  allowAssumeRole: true\n")
    edit(
        path,
        "      - arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io\n",
        "",
    )
    report = run_check(example_repo)
    r004 = [
        (f.line, f.message)
        for f in of_rule(report, "CAPA-R004")
        if f.file == "bootstrap/management.yaml"
    ]
    t004 = [f for f in of_rule(report, "CAPA-T004") if "222222222222" in f.message]
    if api_version == "v1alpha1":
        assert [line for line, _ in r004] == [line_of(path, "allowAssumeRole")]
        assert "does not exist in v1alpha1" in r004[0][1]
        assert len(t004) == 1  # judged as clusterawsadm reads it: no grant for staging
    else:
        assert r004 == [] and t004 == []


# --- a small bad and good example of each rule (tests/data/rules/schemas/) ------------------------


@pytest.mark.parametrize("example", examples("schemas"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)

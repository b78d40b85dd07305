"""Regions are real regions of their partition (core/regions.py): accounts.yaml, per cluster,
the Account function config, and hand-written objects (CAPA-C010)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edit, line_of, of_rule, run_check

from capa_accounts.cli import main
from capa_accounts.core import regions

runner = CliRunner()
STAGING = "overlays/staging/cluster-staging.yaml"


@pytest.mark.parametrize(
    ("region", "partition", "refused", "hint"),
    [
        ("eu-wset-1", "aws", True, "did you mean 'eu-west-1'?"),
        ("eu-west-1", "aws", False, ""),
        ("mx-central-1", "aws", False, ""),
        ("cn-north-1", "aws", True, "partition aws-cn"),
        ("cn-north-1", "aws-cn", False, ""),
        ("us-gov-west-2", "aws-us-gov", True, "did you mean 'us-gov-west-1'?"),
        ("eu-west-1", None, False, ""),
    ],
    ids=["typo", "real", "newer", "other-partition", "own-partition", "gov-typo", "any"],
)
def test_a_region_is_judged_against_its_partition(
    region: str, partition: str | None, refused: bool, hint: str
) -> None:
    why = regions.refusal(region, partition)
    assert bool(why) is refused
    assert hint in why


def test_a_misspelt_account_region_stops_render_and_check_at_its_line(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", "region: eu-west-1", "region: eu-wset-1")
    line = line_of(example_repo / "accounts.yaml", "eu-wset-1")
    for command in ("render", "check"):
        result = runner.invoke(main, [command, "--repo", str(example_repo)])
        assert result.exit_code == 2, result.output
        assert f"accounts.yaml:{line}:" in result.output
        assert "did you mean 'eu-west-1'?" in result.output
    # nothing rendered: the overlay still names the old region
    assert "eu-wset-1" not in (example_repo / STAGING).read_text()


def test_a_misspelt_cluster_region_is_refused_and_a_real_one_renders(example_repo: Path) -> None:
    accounts = example_repo / "accounts.yaml"
    edit(
        accounts,
        '      kubernetesVersion: "1.35"  # quoted: YAML reads 1.30 as the number 1.3',
        '      kubernetesVersion: "1.35"\n'
        "      clusters:\n        - name: staging\n          region: eu-centrl-1",
    )
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert f"accounts.yaml:{line_of(accounts, 'eu-centrl-1')}:" in result.output
    assert "spec.accounts[0].clusters[0].region" in result.output
    assert "did you mean 'eu-central-1'?" in result.output
    edit(accounts, "eu-centrl-1", "eu-central-1")  # near miss: a real region renders
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0, result.output
    assert "region: eu-central-1" in (example_repo / STAGING).read_text()


@pytest.mark.parametrize(
    ("kind", "region", "fires"),
    [
        ("AWSManagedControlPlane", "eu-wset-1", True),
        ("AWSCluster", "us-esat-1", True),
        ("AWSManagedControlPlane", "ap-southeast-7", False),
        ("AWSCluster", "us-east-1", False),
    ],
    ids=["control-plane-typo", "awscluster-typo", "control-plane-real", "awscluster-real"],
)
def test_a_hand_written_object_with_a_made_up_region_is_c010(
    example_repo: Path, kind: str, region: str, fires: bool
) -> None:
    group = "controlplane" if kind == "AWSManagedControlPlane" else "infrastructure"
    (example_repo / "extra").mkdir()
    (example_repo / "extra/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [cluster.yaml]\n"
    )
    (example_repo / "extra/cluster.yaml").write_text(
        f"apiVersion: {group}.cluster.x-k8s.io/v1beta2\nkind: {kind}\n"
        "metadata:\n  name: other\n  namespace: other\nspec:\n"
        f"  region: {region}\n"
    )
    found = of_rule(run_check(example_repo), "CAPA-C010")
    if not fires:
        assert found == []
        return
    assert [(f.file, f.line) for f in found] == [("extra/cluster.yaml", 7)]
    assert "is not a region of any AWS partition" in found[0].message


def test_a_region_of_another_partition_in_an_account_overlay_is_c010(example_repo: Path) -> None:
    edit(example_repo / STAGING, "region: eu-west-1", "region: cn-north-1")
    found = of_rule(run_check(example_repo), "CAPA-C010")
    assert len(found) == 1
    assert found[0].file == STAGING
    assert "region of partition aws-cn, not of aws" in found[0].message

"""`capa-accounts import`: accounts.yaml and base/ from a hand-written tree, such that render
reproduces it; what it cannot represent is listed with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import PROJECT, of_rule, run_check

from capa_accounts.cli import main
from capa_accounts.core import yamlio
from capa_accounts.core.resources import ResourceId

runner = CliRunner()
DATA = PROJECT / "tests" / "data"
HAND = DATA / "hand-written"
SEED = DATA / "seed"


def objects(root: Path, under: str = "") -> dict[ResourceId, tuple[str, dict[str, Any]]]:
    """Every Kubernetes object of the YAML files below ``root/under``, by identity."""
    out = {}
    for path in sorted((root / under).rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        for doc in yamlio.load_documents(path, rel):
            data = doc.data
            if not isinstance(data, dict) or data.get("kind") in (
                "Kustomization",
                "AWSIAMConfiguration",
            ):
                continue
            out[ResourceId.of(data)] = (rel, data)
    return out


def leaves(old: Any, new: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Paths where two objects differ (an independent semantic comparison)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += leaves(old.get(key), new.get(key), (*path, key))
        return out
    return [] if old == new else [path]


def do_import(source: Path, into: Path) -> list[str]:
    result = runner.invoke(main, ["import", str(source), "--into", str(into)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    listed = [
        line.removeprefix("not reproduced: ")
        for line in result.output.splitlines()
        if line.startswith("not reproduced: ")
    ]
    render = runner.invoke(main, ["render", "--repo", str(into)])
    assert render.exit_code == 0, render.output
    return listed


def test_import_reproduces_the_hand_written_tree_except_what_it_lists(tmp_path: Path) -> None:
    into = tmp_path / "repo"
    listed = do_import(HAND, into)
    before, after = objects(HAND), objects(into, "overlays")
    for rid, (rel, data) in before.items():
        assert rid in after, rid
        differences = leaves(after[rid][1], data)
        # every object that still differs is listed, at its file, with what differs
        for path in differences:
            assert any(
                item.startswith(f"{rel}:") and str(rid) in item and ".".join(path[:2]) in item
                for item in listed
            ), (rid, path, listed)
        # what a patch can say is reproduced, not listed: node groups differ per account
        assert not any(
            p[:2] in (("spec", "instanceType"), ("spec", "replicas")) for p in differences
        )
    pools = {
        rid.namespace: d["spec"]
        for rid, (_r, d) in after.items()
        if rid.kind == "AWSManagedMachinePool"
    }
    assert pools["staging"]["instanceType"] == "t3.large"
    assert pools["live"]["instanceType"] == "m6i.xlarge"
    assert pools["live"]["scaling"] == {"minSize": 1, "maxSize": 4}
    # the listed items name real lines of the tree, or render's own additions
    for item in listed:
        file, line, _rest = item.split(":", 2)
        assert file == "(render)" or int(line) <= len((HAND / file).read_text().splitlines())
    # the imported repository is consistent: no error from check
    report = run_check(into)
    assert [f for f in report.findings if f.severity == "error"] == []
    assert of_rule(report, "CAPA-R001") == []


def test_accounts_that_do_not_differ_get_no_patches(tmp_path: Path) -> None:
    """Near miss: with live's node group made like staging's, nothing is a patch."""
    hand = tmp_path / "hand"
    shutil.copytree(HAND, hand)
    live = hand / "live/cluster.yaml"
    live.write_text(
        live.read_text()
        .replace("m6i.xlarge", "t3.large")
        .replace("replicas: 4", "replicas: 2")
        .replace("maxSize: 4", "maxSize: 2")
    )
    do_import(hand, tmp_path / "repo")
    assert "patches" not in (tmp_path / "repo/accounts.yaml").read_text()


def test_import_of_the_seed_guide_lists_what_it_cannot_represent(tmp_path: Path) -> None:
    listed = do_import(SEED, tmp_path / "repo")
    text = "\n".join(listed)
    # the guide's control plane has no CAPI Cluster, the operator provider is no account's,
    # live has no cluster, and render writes its own clusterawsadm configs
    assert "control-plane.yaml:2: not reproduced by render: AWSManagedControlPlane" in text
    assert "operator-provider.yaml:3: not imported: InfrastructureProvider aws-staging" in text
    assert "account 'live' has no control plane" in text
    assert "bootstrap-target-live.yaml:7: clusterawsadm config not imported" in text
    accounts = (tmp_path / "repo/accounts.yaml").read_text()
    assert "accountId: '111111111111'" in accounts
    assert "accountId: '333333333333'" in accounts


def test_import_overwrites_nothing(tmp_path: Path) -> None:
    into = tmp_path / "repo"
    (into / "base").mkdir(parents=True)
    (into / "base/cluster.yaml").write_text("# mine\n")
    result = runner.invoke(main, ["import", str(HAND), "--into", str(into)])
    assert result.exit_code == 2
    assert "base/cluster.yaml: exists: import overwrites nothing" in result.output
    assert (into / "base/cluster.yaml").read_text() == "# mine\n"
    assert not (into / "accounts.yaml").exists()


@pytest.mark.parametrize("content", ["", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"])
def test_a_tree_without_identities_is_one_line_exit_2(tmp_path: Path, content: str) -> None:
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "a.yaml").write_text(content)
    result = runner.invoke(main, ["import", str(hand), "--into", str(tmp_path / "repo")])
    assert result.exit_code == 2
    assert "no AWSClusterRoleIdentity found" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "repo").exists()


def test_an_account_with_two_clusters_imports_both(tmp_path: Path) -> None:
    """live gets a second cluster in another region: both come back from render, the second
    cloned from base/'s template, its own region in accounts.yaml."""
    hand = tmp_path / "hand"
    shutil.copytree(HAND, hand)
    docs = (hand / "live/cluster.yaml").read_text().split("---\n")
    second = "---\n".join(docs[1:]).replace("live", "live-us").replace("eu-west-1", "us-east-1")
    second = second.replace("live-us-identity", "live-identity").replace(
        "namespace: live-us", "namespace: live"
    )
    (hand / "live/cluster-us.yaml").write_text(second)
    (hand / "live/kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [cluster.yaml, cluster-us.yaml]\n"
    )
    listed = do_import(hand, tmp_path / "repo")
    assert not [i for i in listed if "not reproduced by render" in i], listed
    accounts = (tmp_path / "repo/accounts.yaml").read_text()
    assert "- name: live-us\n      region: us-east-1" in accounts
    after = objects(tmp_path / "repo", "overlays")
    planes = {
        r.name: d["spec"]["region"]
        for r, (_f, d) in after.items()
        if r.kind == "AWSManagedControlPlane"
    }
    assert planes == {
        "staging-control-plane": "eu-west-1",
        "live-control-plane": "eu-west-1",
        "live-us-control-plane": "us-east-1",
    }
    for rid, (_rel, data) in objects(hand).items():
        assert rid in after, rid
        for path in leaves(after[rid][1], data):
            assert path[:2] in (("metadata", "labels"), ("spec", "sessionName")), (rid, path)

"""render: overlays, management, bootstrap and Flux files from accounts.yaml + base/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import PROJECT, edit
from kustomize_tools import flux_build, keyed

from capa_accounts.cli import main
from capa_accounts.core.accounts_file import load_account_set
from capa_accounts.kustomize_plugin import render

runner = CliRunner()


def snapshot(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file()
    }


def in_process(repo: Path, account: str) -> list[dict]:
    account_set = load_account_set(repo)
    items = render.account_items(render.load_base(repo), account_set.account(account))
    for item in items:
        render._pop_source(item)
    return items


def overlay_dirs(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / "overlays").iterdir() if p.is_dir())


@pytest.mark.e2e  # a real kustomize
@pytest.mark.parametrize("which", ["project", "init"])
def test_every_overlay_builds_plain_like_flux(which: str, example_repo: Path) -> None:
    repo = PROJECT if which == "project" else example_repo
    account_set = load_account_set(repo)
    for overlay in overlay_dirs(repo):
        built = flux_build(overlay)
        assert built, overlay
        if overlay.name == "management":
            # The policy is an overlay (and Flux Kustomization) of its own, without force.
            assert [i["kind"] for i in built] == ["AWSClusterControllerIdentity"]
            policy = sorted(i["kind"] for i in flux_build(overlay / "admission-policy"))
            assert policy == ["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]
            continue
        assert account_set.account(overlay.name) is not None
        assert keyed(built) == keyed(in_process(repo, overlay.name))


@pytest.mark.e2e  # a real kustomize builds it
def test_base_builds_and_project_base_is_the_packaged_example() -> None:
    assert flux_build(PROJECT / "base")
    packaged = PROJECT / "kustomize_plugin" / "example" / "base"
    assert {p.name: p.read_text() for p in (PROJECT / "base").iterdir()} == {
        p.name: p.read_text() for p in packaged.iterdir()
    }


def test_project_top_level_is_rendered_and_in_sync() -> None:
    result = runner.invoke(main, ["render", "--check", "--repo", str(PROJECT)])
    assert result.exit_code == 0, result.output


def test_rendering_twice_changes_no_byte(example_repo: Path) -> None:
    before = snapshot(example_repo)
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0 and "up to date" in result.output
    assert snapshot(example_repo) == before


def test_render_check_prints_a_diff_and_exits_1(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", "region: eu-west-1", "region: eu-central-1")
    before = snapshot(example_repo)
    result = runner.invoke(main, ["render", "--check", "--repo", str(example_repo)])
    assert result.exit_code == 1
    assert "+  region: eu-central-1" in result.output
    assert "--- a/overlays/staging/cluster-staging.yaml" in result.output
    assert snapshot(example_repo) == before


@pytest.mark.e2e  # a real kustomize builds it
def test_adding_and_removing_an_account(example_repo: Path) -> None:
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n",
        '    - name: qa\n      accountId: "444444444444"\n      region: us-east-1\n'
        '      kubernetesVersion: "1.34"\n    - name: live\n',
    )
    assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    built = flux_build(example_repo / "overlays" / "qa")
    roles = [i for i in built if i["kind"] == "AWSClusterRoleIdentity"]
    assert roles[0]["spec"]["roleARN"].startswith("arn:aws:iam::444444444444:role/")
    assert (example_repo / "bootstrap" / "qa.yaml").exists()
    assert (example_repo / "clusters" / "management" / "capa-qa.yaml").exists()
    management = yaml.safe_load(
        (example_repo / "overlays/management/controller-identity.yaml").read_text()
    )
    assert management["spec"]["allowedNamespaces"]["list"] == ["live", "qa", "staging"]
    # A hand-written file in the overlay stays; the generated ones of the account go.
    (example_repo / "overlays" / "qa" / "NOTES.md").write_text("hand-written\n")
    edit(
        example_repo / "accounts.yaml",
        '    - name: qa\n      accountId: "444444444444"\n      region: us-east-1\n'
        '      kubernetesVersion: "1.34"\n',
        "",
    )
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0
    deleted = sorted(
        line.split()[1] for line in result.output.splitlines() if line.startswith("delete")
    )
    assert deleted == [
        "bootstrap/qa.yaml",
        "clusters/management/capa-qa.yaml",
        "overlays/qa/cluster-qa.yaml",
        "overlays/qa/identity.yaml",
        "overlays/qa/kustomization.yaml",
        "overlays/qa/namespace.yaml",
    ]
    assert (example_repo / "overlays" / "qa" / "NOTES.md").read_text() == "hand-written\n"


def test_render_refuses_to_overwrite_a_hand_written_file(example_repo: Path) -> None:
    target = example_repo / "overlays" / "staging" / "identity.yaml"
    target.write_text("# mine\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    before = snapshot(example_repo)
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2
    assert "overlays/staging/identity.yaml" in result.output
    assert "not generated by capa-accounts" in result.output
    assert snapshot(example_repo) == before


@pytest.mark.e2e  # a real kustomize builds it
def test_two_clusters_in_one_account(example_repo: Path) -> None:
    edit(
        example_repo / "accounts.yaml",
        '    - name: live\n      accountId: "333333333333"\n'
        '      region: eu-west-1\n      kubernetesVersion: "1.35"\n',
        '    - name: live\n      accountId: "333333333333"\n      region: eu-west-1\n'
        '      kubernetesVersion: "1.35"\n      clusters:\n        - name: live-eu\n'
        "        - name: live-us\n          region: us-east-1\n",
    )
    assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    built = flux_build(example_repo / "overlays" / "live")
    planes = {
        i["metadata"]["name"]: i["spec"] for i in built if i["kind"] == "AWSManagedControlPlane"
    }
    assert planes["live-eu-control-plane"]["region"] == "eu-west-1"
    assert planes["live-us-control-plane"]["region"] == "us-east-1"
    assert planes["live-us-control-plane"]["eksClusterName"] == "live-us"
    pools = {i["metadata"]["name"]: i for i in built if i["kind"] == "MachinePool"}
    assert (
        pools["live-us-pool-0"]["spec"]["template"]["spec"]["infrastructureRef"]["name"]
        == "live-us-pool-0"
    )
    assert not (example_repo / "overlays" / "live" / "cluster-live.yaml").exists()


def test_shared_account_id_renders_with_a_warning(example_repo: Path) -> None:
    edit(example_repo / "accounts.yaml", '"333333333333"', '"222222222222"')
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 0
    assert "CAPA-X004" in result.output and "222222222222" in result.output


BAD = [
    (
        "id-not-string",
        ('accountId: "222222222222"', "accountId: 222222222222"),
        "must be a string",
        "222222222222",
    ),
    (
        "id-11-digits",
        ('accountId: "222222222222"', 'accountId: "22222222222"'),
        "does not match",
        "22222222222",
    ),
    (
        "version-number",
        ('kubernetesVersion: "1.35"', "kubernetesVersion: 1.34"),
        "quote it",
        "1.34",
    ),
    ("name-escapes", ("- name: staging", "- name: ../x"), "does not match", "../x"),
    (
        "unknown-key",
        ("      region: eu-west-1\n", "      regoin: eu-west-1\n      region: eu-west-1\n"),
        "did you mean 'region'",
        "regoin",
    ),
    ("duplicate-name", ("- name: live", "- name: staging"), "CAPA-X001", "name: staging"),
    (
        "duplicate-key",
        ("      region: eu-west-1\n", "      region: eu-west-1\n      region: eu-west-2\n"),
        "duplicate key",
        "eu-west-2",
    ),
    ("reserved-name", ("- name: live", "- name: management"), "reserved", "name: management"),
    ("bad-region", ("region: eu-west-1", "region: europe"), "does not match", "europe"),
]


@pytest.mark.parametrize(("case", "change", "message", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_accounts_yaml_exits_2_with_file_and_line(
    example_repo: Path, case: str, change: tuple[str, str], message: str, needle: str
) -> None:
    shutil.rmtree(example_repo / "overlays")
    accounts = example_repo / "accounts.yaml"
    edit(accounts, *change)
    line = [n for n, text in enumerate(accounts.read_text().splitlines(), 1) if needle in text][-1]
    before = snapshot(example_repo)
    for command in (["render"], ["render", "--check"], ["check"]):
        result = runner.invoke(main, [*command, "--repo", str(example_repo)])
        assert result.exit_code == 2, (command, result.output)
        assert f"accounts.yaml:{line}:" in result.output, result.output
        assert message in result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert snapshot(example_repo) == before


def test_committed_editor_schema_is_current() -> None:
    from capa_accounts.kustomize_plugin.example import schema_text

    assert (PROJECT / "accounts.schema.json").read_text() == schema_text()


def test_admission_policy_can_be_turned_off_per_account(example_repo: Path) -> None:
    edit(
        example_repo / "accounts.yaml",
        "    - name: live\n",
        "    - name: live\n      admissionPolicy: false\n",
    )
    assert runner.invoke(main, ["render", "--repo", str(example_repo)]).exit_code == 0
    policy = (
        example_repo / "overlays/management/admission-policy/admission-policy.yaml"
    ).read_text()
    # The table keeps what differs from the defaults: live's row says only "unenforced".
    assert '"live": ["", "", "unenforced"]' in policy
    assert '"staging": []' in policy

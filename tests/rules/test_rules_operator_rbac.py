"""Operator mode with several accounts: one manager ClusterRoleBinding per provider (CAPA-O005)
and the MachinePool feature gate on every provider."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import CAPA_REFERENCE, PROJECT, edit, of_rule, run_check
from kustomize_tools import flux_build
from rule_examples import Example, assert_example, examples

from capa_accounts.cli import main

runner = CliRunner()
SYNTHETIC = PROJECT / "tests" / "data" / "operator" / "capa-manager-rbac.yaml"
# The pinned release's components file, where the reference has one (as the CRD tests read it).
RELEASE_COMPONENTS = (
    sorted(CAPA_REFERENCE.rglob("infrastructure-components*.yaml"))
    if CAPA_REFERENCE.is_dir()
    else []
)
CLUSTER_RBAC = ("ClusterRole", "ClusterRoleBinding")


def operator(repo: Path) -> Path:
    edit(repo / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
    result = runner.invoke(main, ["render", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    return repo


def provider(repo: Path, account: str) -> dict[str, Any]:
    (doc,) = yaml.safe_load_all((repo / f"providers/{account}/provider.yaml").read_text())
    return doc


def install(
    components: Path, work: Path, namespace: str, patches: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The components as one provider's install gets them, built by the real kustomize.

    kustomize's `patches` take the same entries as the operator's `spec.patches` (a target
    selecting group, kind and name; an RFC 6902 patch as a string); its `namespace` moves the
    namespaced objects and ServiceAccount subjects as clusterctl's target namespace does.
    """
    work.mkdir(parents=True)
    (work / "components.yaml").write_text(components.read_text(encoding="utf-8"))
    (work / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": namespace,
                "resources": ["components.yaml"],
                "patches": patches,
            }
        )
    )
    return flux_build(work)


def cluster_rbac(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects if o["kind"] in CLUSTER_RBAC}


@pytest.mark.e2e  # a real kustomize builds it
@pytest.mark.parametrize(
    "components",
    [
        pytest.param(SYNTHETIC, id="capa-rbac-layout"),
        pytest.param(
            RELEASE_COMPONENTS[0] if RELEASE_COMPONENTS else None,
            id="pinned-release",
            marks=pytest.mark.skipif(
                not RELEASE_COMPONENTS,
                reason=(
                    "no infrastructure-components.yaml of the pinned CAPA release beside the "
                    "checkout (../shared/capa-reference)"
                ),
            ),
        ),
    ],
)
def test_rendered_providers_install_disjoint_cluster_rbac(
    example_repo: Path, tmp_path: Path, components: Path
) -> None:
    repo = operator(example_repo)
    installs = {}
    for account in ("staging", "live"):
        spec = provider(repo, account)["spec"]
        installs[account] = cluster_rbac(
            install(components, tmp_path / account, f"capa-{account}", spec["patches"])
        )
    # Without the patches both installs name the same binding: the collision is real.
    bare = [
        cluster_rbac(install(components, tmp_path / f"bare-{a}", f"capa-{a}", []))
        for a in ("staging", "live")
    ]
    assert set(bare[0]) & set(bare[1]) >= {("ClusterRoleBinding", "capa-manager-rolebinding")}
    assert not set(installs["staging"]) & set(installs["live"])
    for account, objects in installs.items():
        bindings = [o for (kind, _), o in objects.items() if kind == "ClusterRoleBinding"]
        assert bindings
        for binding in bindings:
            # Each binding names its own provider's ClusterRole and ServiceAccount.
            assert ("ClusterRole", binding["roleRef"]["name"]) in objects, binding
            assert {
                s["namespace"] for s in binding["subjects"] if s["kind"] == "ServiceAccount"
            } == {f"capa-{account}"}


def test_every_rendered_provider_enables_machine_pools_and_creates_no_default(
    example_repo: Path,
) -> None:
    """No CAPA copy may create an open `default` while Flux's force recreates the listed one
    (CAPA feature/feature.go AutoControllerIdentityCreator, on by default)."""
    repo = operator(example_repo)
    for account in ("staging", "live"):
        assert provider(repo, account)["spec"]["manager"]["featureGates"] == {
            "MachinePool": True,
            "AutoControllerIdentityCreator": False,
        }


def test_a_base_provider_keeps_its_gates_and_patches_and_gets_machine_pools(
    example_repo: Path,
) -> None:
    (example_repo / "base/provider.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: operator.cluster.x-k8s.io/v1alpha2
        kind: InfrastructureProvider
        metadata: {name: aws}
        spec:
          manager:
            featureGates:
              EKSEnableIAM: true
              MachinePool: false
              AutoControllerIdentityCreator: true
          patches:
            - target: {kind: Deployment, name: capa-controller-manager}
              patch: '[{"op": "add", "path": "/spec/replicas", "value": 2}]'
            - target: {kind: ClusterRoleBinding, name: capa-manager-rolebinding}
              patch: '[{"op": "replace", "path": "/metadata/name", "value": "shared"}]'
        """)
    )
    edit(
        example_repo / "base/kustomization.yaml", "resources:\n", "resources:\n  - provider.yaml\n"
    )
    spec = provider(operator(example_repo), "live")["spec"]
    assert spec["manager"]["featureGates"] == {
        "EKSEnableIAM": True,
        "MachinePool": True,
        "AutoControllerIdentityCreator": False,
    }
    targets = [p["target"] for p in spec["patches"]]
    assert targets[0] == {"kind": "Deployment", "name": "capa-controller-manager"}
    # The base's own rename of the binding would collide across accounts: render's replaces it.
    assert [t["kind"] for t in targets[1:]] == ["ClusterRole", "ClusterRoleBinding"]
    assert "capa-live-manager-rolebinding" in spec["patches"][2]["patch"]
    assert of_rule(run_check(example_repo), "CAPA-O005") == []


def test_a_base_provider_with_manifest_patches_is_refused(example_repo: Path) -> None:
    (example_repo / "base/provider.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: operator.cluster.x-k8s.io/v1alpha2
        kind: InfrastructureProvider
        metadata: {name: aws}
        spec:
          manifestPatches: ['{"kind": "Deployment", "spec": {"replicas": 2}}']
        """)
    )
    edit(
        example_repo / "base/kustomization.yaml", "resources:\n", "resources:\n  - provider.yaml\n"
    )
    edit(example_repo / "accounts.yaml", "credentials: roleIdentity", "credentials: operator")
    result = runner.invoke(main, ["render", "--repo", str(example_repo)])
    assert result.exit_code == 2 and "manifestPatches" in result.output, result.output
    assert not (example_repo / "providers").exists()


# --- CAPA-O005 on hand-written repositories --------------------------------------------------

PROVIDER = """\
apiVersion: operator.cluster.x-k8s.io/v1alpha2
kind: InfrastructureProvider
metadata: {{name: aws-{account}, namespace: capa-{account}}}
spec:
  version: v2.11.1
  fetchConfig:
    url: https://github.com/kubernetes-sigs/cluster-api-provider-aws/releases/v2.11.1/infrastructure-components.yaml
  configSecret: {{name: {account}-credentials, namespace: capa-{account}}}
  manager:
    additionalArgs: {{"--watch-filter": {account}}}
{extra}"""


def rename(target: dict[str, str], value: str, op: str = "replace") -> str:
    patch = json.dumps([{"op": op, "path": "/metadata/name", "value": value}])
    return f"  patches:\n    - target: {json.dumps(target)}\n      patch: '{patch}'\n"


BINDING = {"kind": "ClusterRoleBinding", "name": "capa-manager-rolebinding"}


def hand_written(tmp_path: Path, extras: dict[str, str]) -> Path:
    for account, extra in extras.items():
        path = tmp_path / account / "provider.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(PROVIDER.format(account=account, extra=extra))
    return tmp_path


@pytest.mark.parametrize(
    ("extras", "where"),
    [
        ({"one": "", "two": ""}, ("two/provider.yaml", 4)),
        (
            {"one": rename(BINDING, "same"), "two": rename(BINDING, "same")},
            ("two/provider.yaml", 12),
        ),
        (
            {"one": "", "two": rename({"kind": "ClusterRole", "name": "capa-manager-role"}, "x")},
            ("two/provider.yaml", 4),
        ),
        (
            {"one": "", "two": rename({"kind": "ClusterRoleBinding", "name": "other"}, "x")},
            ("two/provider.yaml", 4),
        ),
        ({"one": rename(BINDING, "capa-manager-rolebinding"), "two": ""}, ("two/provider.yaml", 4)),
        (
            {
                "one": "",
                "two": '  manifestPatches:\n    - \'{"kind": "ClusterRoleBinding", '
                '"metadata": {"name": "capa-manager-rolebinding"}}\'\n',
            },
            ("two/provider.yaml", 12),
        ),
    ],
    ids=[
        "no-patches",
        "same-new-name",
        "renames-only-the-role",
        "other-binding",
        "renamed-to-the-default",
        "manifest-patch-to-the-default",
    ],
)
def test_o005_fires_when_two_providers_share_the_binding(
    tmp_path: Path, extras: dict[str, str], where: tuple[str, int]
) -> None:
    found = of_rule(run_check(hand_written(tmp_path, extras)), "CAPA-O005")
    assert [(f.file, f.line) for f in found] == [where], found
    assert found[0].related and found[0].related[0].file == "one/provider.yaml"
    assert "aws-one" in found[0].message


@pytest.mark.parametrize(
    "extras",
    [
        {"one": rename(BINDING, "one-binding"), "two": rename(BINDING, "two-binding")},
        {"one": "", "two": rename({"kind": "ClusterRoleBinding"}, "two-binding", "add")},
        {
            "one": "",
            "two": '  manifestPatches:\n    - \'{"kind": "ClusterRoleBinding", '
            '"metadata": {"name": "two-binding"}}\'\n',
        },
        {"one": ""},
    ],
    ids=["both-renamed", "one-renamed-by-kind", "manifest-patch", "single-provider"],
)
def test_o005_near_miss(tmp_path: Path, extras: dict[str, str]) -> None:
    assert of_rule(run_check(hand_written(tmp_path, extras)), "CAPA-O005") == []


def test_o005_is_quiet_on_a_rendered_operator_repo(example_repo: Path) -> None:
    assert of_rule(run_check(operator(example_repo)), "CAPA-O005") == []
    assert [f for f in run_check(example_repo).findings if f.severity == "error"] == []


# --- a small bad and good example of each rule (tests/data/rules/operator_rbac/) ------------------


@pytest.mark.parametrize("example", examples("operator_rbac"), ids=str)
def test_example(example_repo: Path, example: Example) -> None:
    assert_example(example, example_repo)

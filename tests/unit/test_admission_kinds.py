"""Every CAPA kind whose spec.identityRef picks credentials is matched and guarded alike."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from cel_harness import admission_request, matches
from conftest import CAPA_REFERENCE
from test_admission import (
    DEFAULT,
    LIVE_REF,
    OPERATOR_LABEL,
    ROLE,
    STAGING_NS,
    admit,
    control_plane,
    namespace,
    policy_for,
)

from capa_accounts.kustomize_plugin.admission import GUARDED_KINDS


def of_kind(
    kind: str, identity_ref: dict[str, str] | None = ROLE, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    group = next(g for g, _, k in GUARDED_KINDS if k == kind)
    obj = control_plane(identity_ref=identity_ref, labels=labels)
    return {**obj, "apiVersion": f"{group}/v1beta2", "kind": kind}


@pytest.mark.parametrize("kind", [k for _, _, k in GUARDED_KINDS])
def test_every_guarded_kind_is_matched_and_checked(kind: str) -> None:
    assert admit("roleIdentity", of_kind(kind), STAGING_NS) == []
    for ref, rule in ((DEFAULT, "CAPA-C004"), (LIVE_REF, "CAPA-C003"), (None, "CAPA-C001")):
        failures = admit("roleIdentity", of_kind(kind, ref), STAGING_NS)
        assert [f.message.split(":")[0] for f in failures] == [rule], (kind, ref)
    failures = admit("roleIdentity", of_kind(kind), namespace("evil", "staging"))
    assert [f.message.split(":")[0] for f in failures] == ["CAPA-C003"]
    assert admit("operator", of_kind(kind, DEFAULT, OPERATOR_LABEL), STAGING_NS) == []
    failures = admit("operator", of_kind(kind, DEFAULT), STAGING_NS)
    assert [f.message.split(":")[0] for f in failures] == ["CAPA-O002"]


@pytest.mark.parametrize(
    ("kind", "api_version"),
    [
        ("AWSManagedCluster", "infrastructure.cluster.x-k8s.io/v1beta2"),
        ("AWSManagedMachinePool", "infrastructure.cluster.x-k8s.io/v1beta2"),
        ("ROSACluster", "infrastructure.cluster.x-k8s.io/v1beta2"),
        ("AWSClusterTemplate", "infrastructure.cluster.x-k8s.io/v1beta2"),
    ],
    ids=["awsmanagedcluster", "awsmanagedmachinepool", "rosacluster", "template"],
)
def test_kinds_without_spec_identity_ref_are_not_matched(kind: str, api_version: str) -> None:
    obj = {**control_plane(), "apiVersion": api_version, "kind": kind}
    assert not matches(policy_for("roleIdentity"), admission_request("CREATE", obj, "staging"))


def _crd_kinds_with_identity_ref() -> set[tuple[str, str, str]]:
    found = set()
    for path in sorted(CAPA_REFERENCE.glob("crds/**/*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        names = crd["spec"]["names"]
        for version in crd["spec"]["versions"]:
            spec = (
                version.get("schema", {})
                .get("openAPIV3Schema", {})
                .get("properties", {})
                .get("spec", {})
            )
            if version.get("served") and "identityRef" in spec.get("properties", {}):
                found.add((crd["spec"]["group"], names["plural"], names["kind"]))
    return found


@pytest.mark.e2e  # slow: out of the fast lane
@pytest.mark.skipif(not CAPA_REFERENCE.is_dir(), reason="../shared/capa-reference is absent")
def test_every_reference_crd_kind_with_identity_ref_is_guarded() -> None:
    found = _crd_kinds_with_identity_ref()
    assert (
        "controlplane.cluster.x-k8s.io",
        "awsmanagedcontrolplanes",
        "AWSManagedControlPlane",
    ) in found  # the reader reads the CRDs
    guarded = {(g, r, k) for g, r, k in GUARDED_KINDS}
    assert found <= guarded, found - guarded
    rules = policy_for("roleIdentity")["spec"]["matchConstraints"]["resourceRules"]
    for group, resource, _kind in guarded:
        assert any(group in r["apiGroups"] and resource in r["resources"] for r in rules)


@pytest.mark.parametrize(
    ("api_version", "kind", "resource"),
    [
        (
            "controlplane.cluster.x-k8s.io/v1beta2",
            "AWSManagedControlPlane",
            "awsmanagedcontrolplanes",
        ),
        ("controlplane.cluster.x-k8s.io/v1beta2", "ROSAControlPlane", "rosacontrolplanes"),
        ("infrastructure.cluster.x-k8s.io/v1beta2", "AWSCluster", "awsclusters"),
        ("infrastructure.cluster.x-k8s.io/v1beta2", "ROSANetwork", "rosanetworks"),
        ("infrastructure.cluster.x-k8s.io/v1beta2", "ROSARoleConfig", "rosaroleconfigs"),
    ],
    ids=[
        "awsmanagedcontrolplane",
        "rosacontrolplane",
        "awscluster",
        "rosanetwork",
        "rosaroleconfig",
    ],
)
def test_capa_kinds_with_identity_ref_are_matched(
    api_version: str, kind: str, resource: str
) -> None:
    # CAPA's API types that declare spec.identityRef (an AWSIdentityReference), named here
    # independently of GUARDED_KINDS so that dropping one from the policy fails.
    request = admission_request(
        "CREATE", {**control_plane(), "apiVersion": api_version, "kind": kind}, "staging"
    )
    request["resource"]["resource"] = resource
    for credentials in ("roleIdentity", "operator"):
        assert matches(policy_for(credentials), request)


TEMPLATES = [
    ("controlplane.cluster.x-k8s.io", "AWSManagedControlPlaneTemplate", "AWSManagedControlPlane"),
    ("infrastructure.cluster.x-k8s.io", "AWSClusterTemplate", "AWSCluster"),
]


@pytest.mark.parametrize(("group", "kind", "stamped"), TEMPLATES, ids=[t[1] for t in TEMPLATES])
def test_templates_pass_and_the_objects_clusterclass_stamps_out_are_judged(
    group: str, kind: str, stamped: str
) -> None:
    # CAPA's webhook stores a template without identityRef as `default`, and ClusterClass
    # replaces it per Cluster (CAPA templates/cluster-template-multitenancy-clusterclass.yaml):
    # denying templates that name `default` would deny CAPA's own pattern. The policy judges
    # what the topology controller creates from them, in the Cluster's namespace.
    template = {
        "apiVersion": f"{group}/v1beta2",
        "kind": kind,
        "metadata": {"name": "tpl", "namespace": "staging"},
        "spec": {"template": {"spec": {"identityRef": dict(DEFAULT)}}},
    }
    assert not matches(policy_for("roleIdentity"), admission_request("CREATE", template, "staging"))
    owned = {"topology.cluster.x-k8s.io/owned": ""}
    for ref, rules in ((LIVE_REF, ["CAPA-C003"]), (DEFAULT, ["CAPA-C004"]), (ROLE, [])):
        obj = {
            **control_plane(identity_ref=ref, labels=owned),
            "apiVersion": f"{group}/v1beta2",
            "kind": stamped,
        }
        failures = admit("roleIdentity", obj, STAGING_NS)
        assert [f.message.split(":")[0] for f in failures] == rules, (stamped, ref)

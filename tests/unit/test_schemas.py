"""The built-in schemas (rule CAPA-R004's data), their registry, and the CEL rules."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
import yaml
from conftest import lane_examples
from hypothesis import given, settings
from hypothesis import strategies as st

from capa_accounts.core.schema import cel_rules, registry
from capa_accounts.core.schema.validator import validate

IAM = "bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1"


def load(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)  # noqa: S506 - CSafeLoader is safe


def violations(text: str) -> list[tuple[tuple[Any, ...], str]]:
    doc = load(text)
    check = registry.schema_check(doc["apiVersion"], doc["kind"])
    assert check is not None
    return [(v.path, v.message) for v in validate(check, doc)]


# The seed guide's management-account bootstrap file as this tool renders it.
IAM_CONFIGURATION = """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  namePrefix: ""
  nameSuffix: .cluster-api-provider-aws.sigs.k8s.io
  partition: aws
  bootstrapUser:
    enable: true
    extraStatements:
      - Effect: Allow
        Action: sts:AssumeRole
        Resource:
          - "arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io"
  clusterAPIControllers:
    disable: false
    extraStatements:
      - Sid: AssumeTargets
        Effect: Allow
        Action: [sts:AssumeRole, sts:TagSession]
        Resource:
          - "arn:aws:iam::333333333333:role/controllers.cluster-api-provider-aws.sigs.k8s.io"
    trustStatements:
      - Effect: Allow
        Principal: {AWS: ["arn:aws:iam::111111111111:root"], Service: ec2.amazonaws.com}
        Action: ["sts:AssumeRole"]
        Condition:
          ArnEquals: {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/x"}
          "ForAnyValue:StringLike": {"aws:TagKeys": ["a", "b"]}
  eks:
    iamRoleCreation: false
    managedMachinePool: {disable: false}
"""

FIRING = [
    (
        """
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata: {name: cp}
spec: {regoin: eu-west-1}
""",
        ("spec", "regoin"),
        "unknown field 'regoin' (did you mean 'region'?)",
    ),
    (
        """
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata: {name: cp}
spec: {identityref: {kind: AWSClusterRoleIdentity, name: staging-identity}}
""",
        ("spec", "identityref"),
        "unknown field 'identityref' (did you mean 'identityRef'?)",
    ),
    (
        """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata: {name: staging-identity}
spec: {roleARN: "arn:aws:iam::222222222222:role/x", allowedNamespaces: {lists: [staging]}}
""",
        ("spec", "allowedNamespaces", "lists"),
        "unknown field 'lists' (did you mean 'list'?)",
    ),
    (
        """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSManagedMachinePool
metadata: {name: pool}
spec: {amiType: AL2023_x86_64}
""",
        ("spec", "amiType"),
        "'AL2023_x86_64' is not one of 'AL2_x86_64', 'AL2_x86_64_GPU', "
        "'AL2_ARM_64', 'CUSTOM', 'BOTTLEROCKET_ARM_64', 'BOTTLEROCKET_x86_64', "
        "'BOTTLEROCKET_ARM_64_FIPS', 'BOTTLEROCKET_x86_64_FIPS', 'BOTTLEROCKET_ARM_64_NVIDIA', "
        "'BOTTLEROCKET_x86_64_NVIDIA', 'WINDOWS_CORE_2019_x86_64', 'WINDOWS_FULL_2019_x86_64'",
    ),
    (
        """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSManagedMachinePool
metadata: {name: pool}
spec: {capacityType: OnDemand}
""",
        ("spec", "capacityType"),
        "'OnDemand' is not one of 'onDemand', 'spot'",
    ),
    (
        """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  bootstrapUser:
    extraStatements:
      - {Effect: Allow, Action: "sts:AssumeRole", Resource: "arn:aws:iam::*:role/x"}
""",
        ("spec", "bootstrapUser", "extraStatements", 0, "Resource"),
        "must be a list, not a string",
    ),
    (
        """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: staging, namespace: flux-system}
spec: {interval: 10m, prune: "yes", sourceRef: {kind: GitRepository, name: flux-system}}
""",
        ("spec", "prune"),
        "must be true or false, not a string",
    ),
    (
        """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  clusterAPIControllers:
    disabled: false
""",
        ("spec", "clusterAPIControllers", "disabled"),
        "unknown field 'disabled' (did you mean 'disable'?)",
    ),
    (
        """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  clusterAPIControllers:
    trustStatements: [{Effect: allow, Action: sts:AssumeRole}]
""",
        ("spec", "clusterAPIControllers", "trustStatements", 0, "Effect"),
        "'allow' is not one of 'Allow', 'Deny'",
    ),
    (
        """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  clusterAPIControllers:
    trustStatements: [{Effect: Allow, Action: sts:AssumeRole, Principal: {aws: "*"}}]
""",
        ("spec", "clusterAPIControllers", "trustStatements", 0, "Principal", "aws"),
        "unknown field 'aws' (did you mean 'AWS'?)",
    ),
    (
        """
apiVersion: bootstrap.aws.infrastructure.cluster.x-k8s.io/v1beta1
kind: AWSIAMConfiguration
spec:
  clusterAPIControllers:
    trustStatements: [{Effect: Allow}]
""",
        ("spec", "clusterAPIControllers", "trustStatements", 0),
        "missing required field 'Action'",
    ),
    (
        """
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata: {name: cp}
spec: {version: "1.35-eks"}
""",
        ("spec", "version"),
        "'1.35-eks' does not match "
        "'^v?(0|[1-9][0-9]*)\\\\.(0|[1-9][0-9]*)\\\\.?(\\\\.0|[1-9][0-9]*)?$'",
    ),
    (
        """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata: {name: staging-identity}
spec: {roleARN: "arn:aws:iam::222222222222:role/x", durationSeconds: 86400}
""",
        ("spec", "durationSeconds"),
        "86400 is above the maximum 43200",
    ),
    (
        """
apiVersion: v1
kind: Namespace
metadata: {name: staging, labels: {tier: 1}}
""",
        ("metadata", "labels", "tier"),
        "must be a string, not the number 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "path", "message"),
    FIRING,
    ids=[
        "amcp-unknown-field",
        "amcp-identityref",
        "allowed-namespaces-lists",
        "ammp-amitype",
        "ammp-capacitytype",
        "iam-resource-string",
        "flux-prune-yes",
        "iam-disabled",
        "iam-effect-case",
        "iam-principal-case",
        "iam-action-missing",
        "amcp-version",
        "role-duration",
        "namespace-label-type",
    ],
)
def test_schema_fires(text: str, path: tuple[Any, ...], message: str) -> None:
    assert (path, message) in violations(text)


RENDERED_OK = [
    IAM_CONFIGURATION,
    IAM_CONFIGURATION.replace("/v1beta1", "/v1alpha1"),
    """
apiVersion: v1
kind: Namespace
metadata:
  name: staging
  labels: {capa-accounts.dev/account: staging}
  creationTimestamp: null
  managedFields: [{manager: kubectl}]
""",
    """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata: {name: staging-identity}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}
  allowedNamespaces: {list: [staging]}
  sessionName: capa-staging
  externalID: x
  durationSeconds: 3600
""",
    """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterControllerIdentity
metadata: {name: default}
spec: {allowedNamespaces: {list: null}}
""",
]


@pytest.mark.parametrize(
    "text",
    RENDERED_OK,
    ids=[
        "iam-v1beta1",
        "iam-v1alpha1",
        "namespace",
        "role-identity",
        "controller-identity-null-list",
    ],
)
def test_rendered_documents_pass(text: str) -> None:
    assert violations(text) == []


def test_kind_without_schema_is_passed() -> None:
    assert registry.schema_check("example.com/v1", "Widget") is None
    # served: false since CAPA v2.4.0 and its v1beta1 schema differs from v1beta2: R011 names
    # the version; the identities, whose v1beta1 schema is v1beta2's, are checked all the same.
    assert (
        registry.schema_check("controlplane.cluster.x-k8s.io/v1beta1", "AWSManagedControlPlane")
        is None
    )
    assert (
        registry.schema_check("infrastructure.cluster.x-k8s.io/v1beta1", "AWSClusterRoleIdentity")
        is not None
    )


def test_checks_are_compiled_once() -> None:
    first = registry.schema_check("v1", "Namespace")
    assert first is not None
    assert registry.schema_check("v1", "Namespace") is first


@pytest.mark.parametrize(
    "module", ["accountset", "k8s_admission"], ids=["accountset", "k8s-admission"]
)
def test_optional_schema_modules_are_registered(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    fake = types.ModuleType(f"capa_accounts.core.schema.{module}")
    key = ("example.dev/v1", f"Fake{module}")
    fake.SCHEMAS = {key: {"type": "object", "properties": {"spec": {"type": "string"}}}}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, fake.__name__, fake)
    monkeypatch.setattr(registry, "_schemas", None)
    monkeypatch.setattr(registry, "_compiled", {})
    check = registry.schema_check(*key)
    assert check is not None
    assert [v.message for v in validate(check, {"spec": 1})] == [
        "must be a string, not the number 1"
    ]
    assert registry.schema_check("v1", "Namespace") is not None


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "spec",
                    "metadata",
                    "list",
                    "roleARN",
                    "x",
                    "Effect",
                    "Action",
                    "Resource",
                    "version",
                    "labels",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=lane_examples(150), deadline=None)
@given(body=_json, key=st.sampled_from(sorted(registry.schemas())))
def test_never_a_traceback(body: Any, key: tuple[str, str]) -> None:
    check = registry.schema_check(*key)
    assert check is not None
    for doc in (body, {"apiVersion": key[0], "kind": key[1], "spec": body, "metadata": body}):
        for v in validate(check, doc):
            assert isinstance(v.message, str)


CEL_CASES = [
    (
        "operator.cluster.x-k8s.io/v1alpha2",
        "InfrastructureProvider",
        {"spec": {"fetchConfig": {"url": "https://x", "oci": "y"}}},
        [(("spec", "fetchConfig"), "Must specify one and only one of {oci, url, selector}")],
    ),
    (
        "operator.cluster.x-k8s.io/v1alpha2",
        "InfrastructureProvider",
        {"spec": {"fetchConfig": {"url": "https://x"}}},
        [],
    ),
    (
        "operator.cluster.x-k8s.io/v1alpha2",
        "InfrastructureProvider",
        {"spec": {"fetchConfig": {}, "patches": [], "manifestPatches": []}},
        [
            (("spec",), "Cannot set both 'patches' and 'manifestPatches'"),
            (("spec", "fetchConfig"), "Must specify one and only one of {oci, url, selector}"),
        ],
    ),
    (
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        {"spec": {"kubeConfig": {}}},
        [
            (
                ("spec", "kubeConfig"),
                "exactly one of spec.kubeConfig.configMapRef or "
                "spec.kubeConfig.secretRef must be specified",
            )
        ],
    ),
    (
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        {"spec": {"serviceAccountName": "x", "provider": "github"}},
        [(("spec",), "serviceAccountName can only be set when provider is 'azure' or 'aws'")],
    ),
    (
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        {"spec": {"serviceAccountName": "x", "provider": "aws"}},
        [],
    ),
    (
        "controlplane.cluster.x-k8s.io/v1beta2",
        "AWSManagedControlPlane",
        {"spec": {"network": {"vpc": {"carrierGatewayId": "igw-1"}}}},
        [
            (
                ("spec", "network", "vpc", "carrierGatewayId"),
                "Carrier Gateway ID must start with 'cagw-'",
            )
        ],
    ),
    (
        "cluster.x-k8s.io/v1beta1",
        "Cluster",
        {
            "spec": {
                "topology": {
                    "workers": {
                        "machineDeployments": [
                            {
                                "machineHealthCheck": {
                                    "unhealthyMachineConditions": [{"type": "Ready"}]
                                }
                            }
                        ]
                    }
                }
            }
        },
        [
            (
                (
                    "spec",
                    "topology",
                    "workers",
                    "machineDeployments",
                    0,
                    "machineHealthCheck",
                    "unhealthyMachineConditions",
                    0,
                    "type",
                ),
                "type must not be one of: Ready, Available, HealthCheckSucceeded, OwnerRemediated, "
                "ExternallyRemediated",
            )
        ],
    ),
    (
        "controlplane.cluster.x-k8s.io/v1beta2",
        "AWSManagedControlPlane",
        {"spec": {"network": {"vpc": {"carrierGatewayId": 7}}}},
        [],
    ),  # a type error: schema's job
]


@pytest.mark.parametrize(
    ("api_version", "kind", "doc", "expected"),
    CEL_CASES,
    ids=[
        "fetchconfig-two",
        "fetchconfig-one",
        "patches-both",
        "kubeconfig-none",
        "gitrepo-sa-github",
        "gitrepo-sa-aws",
        "carrier-gateway",
        "capi-condition",
        "wrong-type-skipped",
    ],
)
def test_cel_rules(
    api_version: str, kind: str, doc: Any, expected: list[tuple[tuple[Any, ...], str]]
) -> None:
    pytest.importorskip("celpy")
    check = cel_rules.cel_rules(api_version, kind)
    assert check is not None
    assert [(v.path, v.message) for v in check(doc)] == expected


def test_kind_without_cel_rules() -> None:
    assert cel_rules.cel_rules("v1", "Namespace") is None

"""The built-in schemas agree with the real CRDs: never stricter, and exactly as strict where
they describe a level. Also the CRD converter and loader (``capa_accounts.core.schema.crd``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from capa_accounts.core.errors import InputError
from capa_accounts.core.schema import crd, registry
from capa_accounts.core.schema.validator import compile_schema, validate

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "capa-reference"
CRDS = REFERENCE / "crds"
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason="../shared/capa-reference is not present"
)

TEMPLATE_VARS = {
    "CLUSTER_NAME": "demo",
    "AWS_REGION": "eu-west-1",
    "KUBERNETES_VERSION": "v1.35.0",
    "AWS_SSH_KEY_NAME": "default",
    "WORKER_MACHINE_COUNT": "1",
    "AWS_NODE_MACHINE_TYPE": "t3.large",
}

# Every field the tool renders, plus the neighbours a user is likely to add by hand.
VALID_DOCUMENTS = """
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata: {name: staging-identity, labels: {app: capa}, annotations: {note: x}}
spec:
  roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io
  sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}
  allowedNamespaces: {list: [staging]}
  sessionName: capa-staging
  externalID: staging-external-id
  durationSeconds: 3600
  policyARNs: ["arn:aws:iam::222222222222:policy/x"]
  inlinePolicy: "{}"
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterRoleIdentity
metadata: {name: selector-identity}
spec:
  roleARN: arn:aws:iam::222222222222:role/x
  allowedNamespaces:
    selector:
      matchLabels: {team: a}
      matchExpressions: [{key: env, operator: In, values: [staging]}]
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterControllerIdentity
metadata: {name: default}
spec:
  allowedNamespaces: {list: [staging, live]}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSClusterStaticIdentity
metadata: {name: static}
spec:
  secretRef: static-credentials
  allowedNamespaces: {list: [staging]}
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata: {name: staging, namespace: staging, labels: {cluster.x-k8s.io/watch-filter: staging}}
spec:
  clusterNetwork:
    pods: {cidrBlocks: [192.168.0.0/16]}
    services: {cidrBlocks: [10.96.0.0/12]}
    serviceDomain: cluster.local
    apiServerPort: 6443
  infrastructureRef:
    apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
    kind: AWSManagedCluster
    name: staging
  controlPlaneRef:
    apiVersion: controlplane.cluster.x-k8s.io/v1beta2
    kind: AWSManagedControlPlane
    name: staging-control-plane
  paused: false
  availabilityGates: [{conditionType: example.com/Ready, polarity: Positive}]
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata: {name: staging, namespace: staging}
spec:
  clusterNetwork:
    pods: {cidrBlocks: [192.168.0.0/16]}
    apiServerPort: 6443
  controlPlaneEndpoint: {host: example.com, port: 443}
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: AWSManagedCluster
    name: staging
  controlPlaneRef:
    apiGroup: controlplane.cluster.x-k8s.io
    kind: AWSManagedControlPlane
    name: staging-control-plane
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSManagedCluster
metadata: {name: staging, namespace: staging}
spec: {}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSManagedCluster
metadata: {name: endpoint, namespace: staging}
spec:
  controlPlaneEndpoint: {host: example.com, port: 443}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: AWSManagedControlPlane
metadata: {name: staging-control-plane, namespace: staging}
spec:
  identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
  region: eu-west-1
  version: v1.35.0
  eksClusterName: staging
  sshKeyName: default
  roleName: eks-controlplane
  tokenMethod: aws-cli
  upgradePolicy: standard
  associateOIDCProvider: true
  endpointAccess: {public: true, private: false, publicCIDRs: [10.0.0.0/8]}
  logging: {apiServer: true, audit: true, authenticator: false, controllerManager: false,
            scheduler: false}
  kubeProxy: {disable: false}
  vpcCni: {disable: false}
  accessConfig:
    authenticationMode: api_and_config_map
    bootstrapClusterCreatorAdminPermissions: true
  addons: [{name: vpc-cni, version: v1.19.0-eksbuild.1, conflictResolution: overwrite}]
  additionalTags: {team: platform}
  encryptionConfig: {provider: arn:aws:kms:eu-west-1:222222222222:key/x, resources: [secrets]}
  bastion: {enabled: false, allowedCIDRBlocks: [10.0.0.0/8]}
  accessEntries:
    - principalARN: arn:aws:iam::222222222222:role/admin
      type: standard
      accessPolicies:
        - policyARN: arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy
          accessScope: {type: namespace, namespaces: [default]}
  iamAuthenticatorConfig:
    mapRoles:
      - {rolearn: "arn:aws:iam::222222222222:role/admin", username: admin,
         groups: [system:masters]}
  oidcIdentityProviderConfig:
    {clientId: a, identityProviderConfigName: b, issuerUrl: https://example.com}
  network: {vpc: {availabilityZoneUsageLimit: 3}}
---
apiVersion: cluster.x-k8s.io/v1beta1
kind: MachinePool
metadata: {name: staging-pool-0, namespace: staging}
spec:
  clusterName: staging
  replicas: 2
  template:
    metadata: {labels: {pool: a}}
    spec:
      clusterName: staging
      bootstrap: {dataSecretName: ""}
      infrastructureRef:
        apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
        kind: AWSManagedMachinePool
        name: staging-pool-0
      version: v1.35.0
---
apiVersion: cluster.x-k8s.io/v1beta2
kind: MachinePool
metadata: {name: staging-pool-0, namespace: staging}
spec:
  clusterName: staging
  replicas: 2
  template:
    spec:
      clusterName: staging
      bootstrap: {dataSecretName: ""}
      infrastructureRef:
        apiGroup: infrastructure.cluster.x-k8s.io
        kind: AWSManagedMachinePool
        name: staging-pool-0
      taints: [{key: dedicated, value: gpu, effect: NoSchedule, propagation: Always}]
      deletion: {nodeDrainTimeoutSeconds: 60}
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSManagedMachinePool
metadata: {name: staging-pool-0, namespace: staging}
spec:
  amiType: AL2023_x86_64_STANDARD
  capacityType: spot
  instanceType: t3.large
  scaling: {minSize: 1, maxSize: 3}
  labels: {pool: a}
  taints: [{key: dedicated, value: gpu, effect: no-schedule}]
  updateConfig: {maxUnavailable: 1}
  remoteAccess: {public: false, sshKeyName: default}
  nodeRepairConfig: {enabled: true}
  lifecycleHooks:
    - {name: drain, lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
       defaultResult: CONTINUE}
  awsLaunchTemplate:
    instanceType: t3.large
    ami: {eksLookupType: AmazonLinux2023}
    rootVolume: {size: 20, type: gp3}
    instanceMetadataOptions: {httpTokens: required, httpPutResponseHopLimit: 2}
    capacityReservationPreference: Open
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: AWSCluster
metadata: {name: staging-ec2, namespace: staging}
spec:
  identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
  region: eu-west-1
  partition: aws
  sshKeyName: default
  controlPlaneEndpoint: {host: example.com, port: 6443}
  additionalTags: {team: platform}
  bastion: {enabled: true, allowedCIDRBlocks: [10.0.0.0/8], instanceType: t3.micro}
  controlPlaneLoadBalancer: {loadBalancerType: nlb, scheme: internal}
  network: {vpc: {cidrBlock: 10.0.0.0/16}}
  imageLookupOrg: "258751437250"
  s3Bucket: {name: staging-ignition}
---
apiVersion: controlplane.cluster.x-k8s.io/v1beta2
kind: ROSAControlPlane
metadata: {name: staging-rosa, namespace: staging}
spec:
  identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
  rosaClusterName: staging
  region: eu-west-1
  version: 4.18.1
  subnets: [subnet-1, subnet-2]
  availabilityZones: [eu-west-1a]
---
apiVersion: infrastructure.cluster.x-k8s.io/v1beta2
kind: ROSANetwork
metadata: {name: staging-net, namespace: staging}
spec:
  identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
  stackName: staging-net
  region: eu-west-1
  cidrBlock: 10.0.0.0/16
  availabilityZoneCount: 1
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: staging, namespace: flux-system}
spec:
  interval: 10m
  path: ./overlays/staging
  prune: true
  force: false
  sourceRef: {kind: GitRepository, name: flux-system}
  dependsOn: [{name: management}]
  deletionPolicy: Orphan
  decryption: {provider: sops, secretRef: {name: sops-age}}
  timeout: 5m
  wait: true
  postBuild: {substitute: {account: staging}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m0s
  url: ssh://git@github.com/example/fleet
  ref: {branch: main}
  secretRef: {name: flux-system}
  timeout: 60s
---
apiVersion: operator.cluster.x-k8s.io/v1alpha2
kind: InfrastructureProvider
metadata: {name: aws-staging, namespace: capa-staging}
spec:
  version: v2.11.1
  configSecret: {name: staging-credentials, namespace: capa-staging}
  fetchConfig:
    url: https://example.com/capa/v2.11.1/infrastructure-components.yaml
  manager:
    additionalArgs: {"--watch-filter": staging}
    featureGates: {MachinePool: true}
    verbosity: 2
"""


def crd_files(*names: str) -> list[Path]:
    return [CRDS / name for name in names if name not in OPTIONAL_CRDS or (CRDS / name).exists()]


MAIN_CRDS = [
    "controlplane.cluster.x-k8s.io_awsmanagedcontrolplanes.yaml",
    "infrastructure.cluster.x-k8s.io_awsclustercontrolleridentities.yaml",
    "infrastructure.cluster.x-k8s.io_awsclusterroleidentities.yaml",
    "infrastructure.cluster.x-k8s.io_awsclusterstaticidentities.yaml",
    "infrastructure.cluster.x-k8s.io_awsmanagedclusters.yaml",
    "infrastructure.cluster.x-k8s.io_awsmanagedmachinepools.yaml",
    "operator.cluster.x-k8s.io_infrastructureproviders.yaml",
    "capi/cluster.x-k8s.io_clusters.yaml",
    "capi/cluster.x-k8s.io_machinepools.yaml",
    "flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
    "flux/source.toolkit.fluxcd.io_gitrepositories.yaml",
]
# Compared when the reference holds them (AWSCluster and the ROSA kinds that carry identityRef).
OPTIONAL_CRDS = [
    "infrastructure.cluster.x-k8s.io_awsclusters.yaml",
    "controlplane.cluster.x-k8s.io_rosacontrolplanes.yaml",
    "infrastructure.cluster.x-k8s.io_rosanetworks.yaml",
    "infrastructure.cluster.x-k8s.io_rosaroleconfigs.yaml",
]
MAIN_CRDS += OPTIONAL_CRDS


def _load(names: list[str]) -> dict[tuple[str, str], Any]:
    if not REFERENCE.is_dir():
        return {}
    return {k: compile_schema(s) for k, s in crd.load_crd_schemas(crd_files(*names)).items()}


_MAIN = _load(MAIN_CRDS)
_RELEASE = _load(["release-v2.11.1"])


def substitute(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        return TEMPLATE_VARS.get(name, default if default is not None else "x")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}", one, text)


def template_documents() -> list[tuple[str, Any]]:
    if not REFERENCE.is_dir():
        return []
    out = []
    for path in sorted((REFERENCE / "templates").glob("*.yaml")):
        docs = yaml.load_all(substitute(path.read_text()), Loader=yaml.CSafeLoader)
        out += [(f"{path.stem}:{d['kind']}", d) for d in docs if isinstance(d, dict)]
    return out


def valid_documents() -> list[tuple[str, Any]]:
    docs = yaml.load_all(VALID_DOCUMENTS, Loader=yaml.CSafeLoader)
    return [
        (f"{d['kind']}-{d['apiVersion'].split('/')[-1]}-{d['metadata']['name']}", d) for d in docs
    ]


def _key(doc: Any) -> tuple[str, str]:
    return (doc["apiVersion"], doc["kind"])


def _resolve(schema: dict[str, Any] | None, path: tuple[Any, ...]) -> dict[str, Any] | None:
    """The built-in schema that describes the value at ``path``, or None if it is open."""
    for part in path:
        if schema is None:
            return None
        if isinstance(part, int):
            schema = schema.get("items")
        elif part in (schema.get("properties") or {}):
            schema = schema["properties"][part]
        elif isinstance(schema.get("additionalProperties"), dict):
            schema = schema["additionalProperties"]
        else:
            return None
    return schema


def _closed(schema: dict[str, Any] | None) -> bool:
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return False
    return bool(schema.get("properties")) or schema.get("additionalProperties") is False


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, i))


def mutations(doc: Any, schemas: list[dict[str, Any] | None]) -> Iterator[tuple[str, Any, bool]]:
    """(description, mutated document, covered) for each mutation of a valid document.

    ``covered`` says whether the built-in schema describes the mutated level strictly."""
    builtin = schemas[0]
    for path, value in _walk(doc):
        described = _resolve(builtin, path)
        if isinstance(value, dict):
            yield (
                f"unknown key under {path}",
                _set(doc, (*path, "zzUnknown"), "x") if path else {**doc, "zzUnknown": "x"},
                _closed(described),
            )
        if not path or path[0] in ("apiVersion", "kind"):
            continue
        covered = described is not None and bool(described.get("type"))
        wrong = {str: 12345, bool: "yes", int: "1", dict: "text", list: "text"}
        for kind, bad in wrong.items():
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                yield f"wrong type at {path}", _set(doc, path, bad), covered
                break
        for schema in schemas:
            node = _resolve(schema, path) or {}
            if "enum" in node:
                yield f"bad enum at {path}", _set(doc, path, "NotAnEnumValue"), covered
            if "pattern" in node:
                yield f"bad pattern at {path}", _set(doc, path, "-Bad pattern-"), covered
            for bound, delta in (("minimum", -1), ("maximum", 1)):
                if bound in node:
                    yield (f"{bound} at {path}", _set(doc, path, node[bound] + delta), covered)
            if "minLength" in node and node["minLength"] > 0:
                yield (
                    f"minLength at {path}",
                    _set(doc, path, "a" * (node["minLength"] - 1)),
                    covered,
                )
            if "maxLength" in node:
                yield (
                    f"maxLength at {path}",
                    _set(doc, path, "a" * (node["maxLength"] + 1)),
                    covered,
                )


def crd_schema_dicts() -> dict[tuple[str, str], dict[str, Any]]:
    return crd.load_crd_schemas(crd_files(*MAIN_CRDS)) if REFERENCE.is_dir() else {}


_CRD_DICTS = crd_schema_dicts()


@needs_reference
@pytest.mark.parametrize(
    ("name", "doc"),
    template_documents() + valid_documents(),
    ids=[n for n, _ in template_documents() + valid_documents()],
)
def test_valid_documents_pass_both(name: str, doc: Any) -> None:
    key = _key(doc)
    check = registry.schema_check(*key)
    if check is None:
        assert key not in _MAIN, f"{key} has a CRD but no built-in schema"
        return
    assert validate(check, doc) == []
    if key in _MAIN:
        assert validate(_MAIN[key], doc) == []


@needs_reference
@pytest.mark.parametrize(
    ("name", "doc"),
    template_documents() + valid_documents(),
    ids=[n for n, _ in template_documents() + valid_documents()],
)
def test_mutations_agree_with_crd(name: str, doc: Any) -> None:
    key = _key(doc)
    check = registry.schema_check(*key)
    if check is None or key not in _MAIN:
        pytest.skip(f"{key}: no built-in schema or no CRD")
    builtin_dict = registry.schema_for(*key)
    problems = []
    count = 0
    for what, mutated, covered in mutations(doc, [builtin_dict, _CRD_DICTS[key]]):
        count += 1
        ours = validate(check, mutated)
        theirs = validate(_MAIN[key], mutated)
        release = validate(_RELEASE[key], mutated) if key in _RELEASE else theirs
        if ours and (not theirs or not release):
            problems.append(f"stricter than the CRD: {what}: {ours[0].message}")
        elif covered and bool(ours) != bool(theirs):
            problems.append(f"more lenient than the CRD: {what}: {theirs[0].message}")
    assert count > 0
    assert problems == []


@needs_reference
def test_every_crd_kind_has_a_builtin_schema() -> None:
    assert set(_MAIN) <= set(registry.schemas())


@needs_reference
def test_release_components_bundle_is_loaded_skipping_other_documents(tmp_path: Path) -> None:
    bundle = tmp_path / "infrastructure-components.yaml"
    bundle.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: capa-system}\n---\n"
        + (CRDS / MAIN_CRDS[2]).read_text()
        + "\n---\n# empty\n---\n"
        + (CRDS / MAIN_CRDS[0]).read_text()
    )
    checks = crd.load_crds([bundle])
    assert set(checks) == {
        ("infrastructure.cluster.x-k8s.io/v1beta2", "AWSClusterRoleIdentity"),
        ("controlplane.cluster.x-k8s.io/v1beta2", "AWSManagedControlPlane"),
    }  # v1beta1 of both is served: false


SYNTHETIC_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          metadata: {type: object}
          spec:
            type: object
            required: [size, mode]
            properties:
              size: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]}
              mode: {type: string, default: fast, enum: [fast, slow]}
              count: {type: integer, format: int32, minimum: 0}
              empty: {type: object}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true}
              labels: {type: object, additionalProperties: {type: string}}
              note: {type: string, nullable: true}
              embedded:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
            x-kubernetes-validations: [{rule: "true", message: never}]
  - name: v0
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object}}
"""

SYNTHETIC_CASES = [
    ({"size": 3}, []),
    ({"size": "50%"}, []),
    ({"size": True}, [("spec", "size")]),
    ({}, [("spec",)]),  # size required; mode has a default, so it is not
    ({"size": 1, "mode": "medium"}, [("spec", "mode")]),
    ({"size": 1, "count": -1}, [("spec", "count")]),
    ({"size": 1, "empty": {"x": 1}}, [("spec", "empty", "x")]),
    ({"size": 1, "free": {"x": {"y": 1}}}, []),
    ({"size": 1, "labels": {"a": 1}}, [("spec", "labels", "a")]),
    ({"size": 1, "note": None}, []),
    ({"size": 1, "embedded": {"apiVersion": "v1", "kind": "X", "metadata": {}, "z": 1}}, []),
    ({"size": 1, "typo": 1}, [("spec", "typo")]),
]


@pytest.mark.parametrize(
    ("spec", "paths"),
    SYNTHETIC_CASES,
    ids=[
        "int",
        "string",
        "bool-int-or-string",
        "required-without-default",
        "enum",
        "minimum",
        "empty-object-keeps-nothing",
        "preserve",
        "additional",
        "nullable",
        "embedded",
        "unknown",
    ],
)
def test_converter_semantics(
    tmp_path: Path, spec: dict[str, Any], paths: list[tuple[str, ...]]
) -> None:
    path = tmp_path / "widget.yaml"
    path.write_text(SYNTHETIC_CRD)
    checks = crd.load_crds([tmp_path])
    assert set(checks) == {("example.com/v1", "Widget")}
    doc = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "managedFields": []},
        "spec": spec,
    }
    assert [v.path for v in validate(checks[("example.com/v1", "Widget")], doc)] == paths


@pytest.mark.parametrize(
    "content", ["a: [unclosed", "\xff\xfe", None], ids=["bad-yaml", "not-utf8", "missing"]
)
def test_loader_failures_are_input_errors(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "crd.yaml"
    if content == "\xff\xfe":
        path.write_bytes(b"\xff\xfe\x00a")
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as err:
        crd.load_crds([path])
    assert err.value.path == str(path)


@needs_reference
def test_builtin_cel_rules_match_the_crds() -> None:
    from capa_accounts.core.schema import cel_rules

    found: dict[tuple[str, str], set[tuple[tuple[str, ...], str, str]]] = {}
    for path in crd_files(*MAIN_CRDS):
        for document in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            for version in document["spec"]["versions"]:
                if not version.get("served"):
                    continue
                key = (
                    f"{document['spec']['group']}/{version['name']}",
                    document["spec"]["names"]["kind"],
                )
                rules = cel_rules.rules_from_schema(version["schema"]["openAPIV3Schema"])
                if rules:
                    found[key] = {(r.path, r.rule, r.message) for r in rules}
    ours = {
        key: {(r.path, r.rule, r.message) for r in rules}
        for key, rules in cel_rules.BUILTIN_RULES.items()
    }
    assert ours == found


def _every_version(names: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Converted schemas of every version the CRDs list, served or not."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in crd_files(*names):
        for document in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                document = copy.deepcopy(document)
                for version in document["spec"]["versions"]:
                    version["served"] = True
                out.update(crd.crd_schemas(document))
    return out


_UNSERVED_DICTS = (
    {k: s for k, s in _every_version(MAIN_CRDS).items() if k not in _CRD_DICTS}
    if REFERENCE.is_dir()
    else {}
)
IDENTITY_KINDS = (
    "AWSClusterControllerIdentity",
    "AWSClusterRoleIdentity",
    "AWSClusterStaticIdentity",
)


def v1beta1_identity_documents() -> list[tuple[str, Any]]:
    out = []
    for name, doc in valid_documents():
        if doc["kind"] in IDENTITY_KINDS:
            old = {**doc, "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1"}
            out.append((name.replace("v1beta2", "v1beta1"), old))
    return out


@needs_reference
def test_the_builtin_v1beta1_identities_are_the_crds_unserved_v1beta1() -> None:
    builtin = {
        k for k in registry.schemas() if k[0].endswith("/v1beta1") and k[1] in IDENTITY_KINDS
    }
    assert builtin == {("infrastructure.cluster.x-k8s.io/v1beta1", k) for k in IDENTITY_KINDS}
    assert builtin <= set(_UNSERVED_DICTS)  # the CRDs list v1beta1, with served: false


@needs_reference
@pytest.mark.parametrize(
    ("name", "doc"), v1beta1_identity_documents(), ids=[n for n, _ in v1beta1_identity_documents()]
)
def test_v1beta1_identity_mutations_agree_with_the_crds_v1beta1(name: str, doc: Any) -> None:
    key = _key(doc)
    check = registry.schema_check(*key)
    theirs_check = compile_schema(_UNSERVED_DICTS[key])
    assert check is not None
    assert validate(check, doc) == [] and validate(theirs_check, doc) == []
    problems, count = [], 0
    for what, mutated, covered in mutations(doc, [registry.schema_for(*key), _UNSERVED_DICTS[key]]):
        count += 1
        ours, theirs = validate(check, mutated), validate(theirs_check, mutated)
        if ours and not theirs:
            problems.append(f"stricter than the CRD: {what}: {ours[0].message}")
        elif covered and bool(ours) != bool(theirs):
            problems.append(f"more lenient than the CRD: {what}: {theirs[0].message}")
    assert count > 10
    assert problems == []


@needs_reference
def test_r009s_table_matches_the_crds_served_flags() -> None:
    from capa_accounts.core.schema import served

    listed = set(_every_version(MAIN_CRDS))
    unserved = {k for k in listed if k not in _CRD_DICTS}
    assert unserved, "the reference CRDs list no unserved version"
    for api_version, kind in sorted(listed):
        said = served.builtin_unserved(api_version, kind) is not None
        assert said == ((api_version, kind) in unserved), (api_version, kind)
    # The CAPI core kinds still serve v1beta1 (deprecated): never reported.
    assert served.builtin_unserved("cluster.x-k8s.io/v1beta1", "Cluster") is None

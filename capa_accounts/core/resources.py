"""What a resource is: its identity (``ResourceId``), its scope, and the CAPA kinds by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capa_accounts.core.record import Ordered

# The API groups and versions the tool reads and writes: their one home (a test keeps the
# literals out of every other module).
INFRA_GROUP = "infrastructure.cluster.x-k8s.io"
CONTROLPLANE_GROUP = "controlplane.cluster.x-k8s.io"
CAPI_GROUP = "cluster.x-k8s.io"
CAPI_BOOTSTRAP_GROUP = f"bootstrap.{CAPI_GROUP}"
INFRA_API = f"{INFRA_GROUP}/v1beta2"
CONTROLPLANE_API = f"{CONTROLPLANE_GROUP}/v1beta2"
CAPI_V1BETA1 = f"{CAPI_GROUP}/v1beta1"
CAPI_V1BETA2 = f"{CAPI_GROUP}/v1beta2"
# clusterawsadm's AWSIAMConfiguration (cmd/clusterawsadm/api/bootstrap/v1beta1)
IAM_CONFIG_GROUP = f"bootstrap.aws.{INFRA_GROUP}"
IAM_CONFIG_API = f"{IAM_CONFIG_GROUP}/v1beta1"
# The CAPI Operator's InfrastructureProvider
OPERATOR_GROUP = f"operator.{CAPI_GROUP}"
OPERATOR_API = f"{OPERATOR_GROUP}/v1alpha2"
# Flux's Kustomization and GitRepository
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
FLUX_KUSTOMIZE_API = f"{FLUX_KUSTOMIZE_GROUP}/v1"
FLUX_SUBSTITUTE_ANNOTATION = f"{FLUX_KUSTOMIZE_GROUP}/substitute"
FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io"
FLUX_SOURCE_API = f"{FLUX_SOURCE_GROUP}/v1"

CONTROLLER_IDENTITY = "AWSClusterControllerIdentity"
ROLE_IDENTITY = "AWSClusterRoleIdentity"
STATIC_IDENTITY = "AWSClusterStaticIdentity"
# A tuple, not a set: `kind in IDENTITY_KINDS` compares, and never hashes a kind that bad YAML
# made a list or a mapping.
IDENTITY_KINDS = (CONTROLLER_IDENTITY, ROLE_IDENTITY, STATIC_IDENTITY)
CONTROL_PLANE = "AWSManagedControlPlane"
AWS_CLUSTER = "AWSCluster"
ROSA_CONTROL_PLANE = "ROSAControlPlane"
ROSA_NETWORK = "ROSANetwork"
ROSA_NETWORK_OLD = "RosaNetwork"  # the kind's name in the first releases that served it
ROSA_ROLE_CONFIG = "ROSARoleConfig"
# The kinds whose ``spec.identityRef`` chooses the credentials CAPA reconciles them with
# (CAPA pkg/cloud/scope/session.go, getProvidersForCluster reads the scope's IdentityRef):
# the EKS control plane, the self-managed AWSCluster, and the ROSA kinds that carry one
# (controlplane/rosa/api/v1beta2/rosacontrolplane_types.go, exp/api/v1beta2/
# rosanetwork_types.go, exp/api/v1beta2/rosaroleconfig_types.go). AWSManagedCluster,
# ROSACluster and the machine pools have none: they use their control plane's.
IDENTITY_USERS = (
    (CONTROLPLANE_GROUP, CONTROL_PLANE),
    (INFRA_GROUP, AWS_CLUSTER),
    (CONTROLPLANE_GROUP, ROSA_CONTROL_PLANE),
    (INFRA_GROUP, ROSA_NETWORK),
    (INFRA_GROUP, ROSA_NETWORK_OLD),
    (INFRA_GROUP, ROSA_ROLE_CONFIG),
)
# Of those, the kinds whose webhook fills a missing identityRef with the controller identity
# `default` (controlplane/eks/webhooks/awsmanagedcontrolplane_webhook.go Default; api/v1beta2/
# defaults.go SetDefaults_AWSClusterSpec, called by awscluster_webhook.go Default). The ROSA
# kinds keep it nil, and a nil ref builds no provider at all (session.go buildProvidersForRef):
# the controller's own credentials, without even `default`'s allowedNamespaces check.
DEFAULTED_IDENTITY_REF = (CONTROL_PLANE, AWS_CLUSTER)
# The templates Cluster API's ClusterClass clones into those kinds, as (group, kind, the kind
# stamped out): each carries spec.template.spec.identityRef, defaulted like the concrete kind's
# (api/v1beta2/zz_generated.defaults.go SetObjectDefaults_AWSClusterTemplate;
# controlplane/eks/webhooks/awsmanagedcontrolplanetemplate_webhook.go Default). CAPA has no
# template of the ROSA kinds that carry one.
TEMPLATE_IDENTITY_USERS = (
    (CONTROLPLANE_GROUP, "AWSManagedControlPlaneTemplate", CONTROL_PLANE),
    (INFRA_GROUP, "AWSClusterTemplate", AWS_CLUSTER),
)
CLUSTER_CLASS = "ClusterClass"
DEFAULT_IDENTITY = "default"
# CAPA's manager namespace, where it reads a static identity's Secret, unless it runs elsewhere
# (cluster-api-provider-aws util/system/util.go, defaultNamespace).
CAPA_NAMESPACE = "capa-system"

ACCOUNT_LABEL = "capa-accounts.dev/account"
CLUSTER_NAME_LABEL = f"{CAPI_GROUP}/cluster-name"
# CAPI's --watch-filter matches this label's value (cluster-api main.go).
WATCH_FILTER_LABEL = f"{CAPI_GROUP}/watch-filter"
# A suppression on an object: "CAPA-I004: <reason>, ..." (hooks/check/suppress.py)
IGNORE_ANNOTATION = "capa-accounts.dev/ignore"

# Cluster-scoped kinds of Kubernetes and of CAPA (identities: api/v1beta2/awsidentity_types.go,
# `+kubebuilder:resource:scope=Cluster`). Every other kind is namespaced, as kustomize assumes.
CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        (INFRA_GROUP, CONTROLLER_IDENTITY),
        (INFRA_GROUP, ROLE_IDENTITY),
        (INFRA_GROUP, STATIC_IDENTITY),
    }
)


def group_of(api_version: Any) -> str:
    text = str(api_version or "")
    return text.rsplit("/", 1)[0] if "/" in text else ""


def is_cluster_scoped(api_version: Any, kind: Any) -> bool:
    return (group_of(api_version), str(kind or "")) in CLUSTER_SCOPED


def is_identity(item: Mapping[str, Any]) -> bool:
    return group_of(item.get("apiVersion")) == INFRA_GROUP and item.get("kind") in IDENTITY_KINDS


def metadata(item: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = item.get("metadata")
    # type() first: an ABC isinstance costs several times more, once per object of a fleet.
    return meta if type(meta) is dict or isinstance(meta, Mapping) else {}


class ResourceId(Ordered):
    """A resource as the API server keys it (flux-local's NamedResource)."""

    FIELDS = ("group", "kind", "namespace", "name")
    group: str
    kind: str
    namespace: str
    name: str

    def __init__(
        self,
        group: str,
        kind: str,
        namespace: str,
        name: str,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "group", group)
        set_(self, "kind", kind)
        set_(self, "namespace", namespace)
        set_(self, "name", name)

    # Written out: every index of check is keyed by resource IDs (as fast as a dataclass's).
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ResourceId:
            return NotImplemented
        return (self.group, self.kind, self.namespace, self.name) == (
            other.group,  # type: ignore[attr-defined]
            other.kind,  # type: ignore[attr-defined]
            other.namespace,  # type: ignore[attr-defined]
            other.name,  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((self.group, self.kind, self.namespace, self.name))

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> ResourceId:
        meta = metadata(item)
        namespace = (
            ""
            if is_cluster_scoped(item.get("apiVersion"), item.get("kind"))
            else str(meta.get("namespace") or "")
        )
        return cls(
            group_of(item.get("apiVersion")),
            str(item.get("kind") or ""),
            namespace,
            str(meta.get("name") or ""),
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


# clusterawsadm's configuration file (cmd/clusterawsadm/api/bootstrap/v1beta1/types.go, its
# group IAM_CONFIG_GROUP above): read by `clusterawsadm bootstrap iam ... --config`, never
# applied to a cluster.
IAM_CONFIG_KIND = "AWSIAMConfiguration"


def is_iam_config(data: object) -> bool:
    """Whether a document is a clusterawsadm configuration: an input of clusterawsadm, not a
    Kubernetes object (no metadata needed)."""
    return (
        isinstance(data, dict)
        and data.get("kind") == IAM_CONFIG_KIND
        and group_of(data.get("apiVersion")) == IAM_CONFIG_GROUP
    )

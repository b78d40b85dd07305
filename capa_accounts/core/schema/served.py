"""Which API versions of CAPA's kinds the API server no longer serves (rule CAPA-R011).

CAPA v2.4.0 stopped serving every v1beta1 type (kubernetes-sigs/cluster-api-provider-aws commit
827ee1d1, "Stop serving v1beta1 API types": ``+kubebuilder:unservedversion``, so each CRD in
``config/crd/bases/`` lists v1beta1 with ``served: false``; v2.0-v2.3 served it). The API
server answers such an object with "no matches for kind ... in version ...", and Flux fails the
whole Kustomization. CAPA's multitenancy docs (``docs/book/src/topics/multitenancy.md``) still
write ``infrastructure.cluster.x-k8s.io/v1beta1``. Kinds of other projects that share these
groups (Cluster API's ``KubeadmControlPlane``, ``KubeadmConfig``) still serve v1beta1, so the
table names CAPA's kinds one by one.
"""

from __future__ import annotations

from collections.abc import Iterable

from capa_accounts.core.resources import (
    CAPI_BOOTSTRAP_GROUP,
    CONTROLPLANE_GROUP,
    INFRA_GROUP,
    group_of,
)

CAPA_RELEASE = "v2.4.0"
_BOOTSTRAP_GROUP = CAPI_BOOTSTRAP_GROUP

# (group, kind) -> the version CAPA serves instead. Read from each CRD's versions at v2.4.0.
_V1BETA1_UNSERVED: dict[tuple[str, str], str] = {
    (group, kind): "v1beta2"
    for group, kinds in (
        (
            INFRA_GROUP,
            (
                "AWSCluster",
                "AWSClusterControllerIdentity",
                "AWSClusterRoleIdentity",
                "AWSClusterStaticIdentity",
                "AWSClusterTemplate",
                "AWSFargateProfile",
                "AWSMachine",
                "AWSMachinePool",
                "AWSMachineTemplate",
                "AWSManagedMachinePool",
            ),
        ),
        (CONTROLPLANE_GROUP, ("AWSManagedControlPlane",)),
        (_BOOTSTRAP_GROUP, ("EKSConfig", "EKSConfigTemplate")),
    )
    for kind in kinds
}


def builtin_unserved(api_version: str, kind: str) -> str | None:
    """The served version to write instead, if CAPA no longer serves ``api_version`` of ``kind``."""
    if not api_version.endswith("/v1beta1"):
        return None
    return _V1BETA1_UNSERVED.get((group_of(api_version), kind))


def served_versions(keys: Iterable[tuple[str, str]], api_version: str, kind: str) -> list[str]:
    """The versions of ``kind``'s group that a set of served ``(apiVersion, kind)`` keys holds
    (empty when those CRDs do not define the kind at all)."""
    group = group_of(api_version)
    return sorted(av.rsplit("/", 1)[-1] for av, k in keys if k == kind and group_of(av) == group)

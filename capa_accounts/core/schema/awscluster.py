"""Schema of CAPA's self-managed (non-EKS) ``AWSCluster`` (infrastructure.cluster.x-k8s.io/v1beta2).

Every top-level spec field is declared with its type; ``identityRef`` (the field ``check``
judges) and the small structs are exactly as strict as the CRD. The internals of the large
fields (``network``, the load balancers, ``s3Bucket``) are left open, as in ``eks``: a built-in
schema must never reject what the CRD accepts. Source: CAPA ``api/v1beta2/awscluster_types.go``
(AWSClusterSpec, Bastion, AWSIdentityReference); ``associateOIDCProvider`` is read by
``api/v1beta2/awscluster_spec.go`` (Validate) and accepted here.
"""

from __future__ import annotations

from capa_accounts.core.schema.core import (
    OPEN,
    Schema,
    boolean,
    obj,
    resource,
    string,
    string_list,
    string_map,
)
from capa_accounts.core.schema.eks import API_ENDPOINT, INFRASTRUCTURE_API
from capa_accounts.core.schema.identities import IDENTITY_REFERENCE, V1BETA1

_BASTION: Schema = obj(
    {
        "allowedCIDRBlocks": string_list(),
        "ami": string(),
        "disableIngressRules": boolean(),
        "enabled": boolean(),
        "instanceType": string(),
    }
)

AWS_CLUSTER_SPEC: Schema = obj(
    {
        "additionalTags": string_map(),
        "associateOIDCProvider": boolean(),
        "bastion": _BASTION,
        "controlPlaneEndpoint": API_ENDPOINT,
        # AWSLoadBalancerSpec: listeners, health checks, ingress rules; changes every release.
        "controlPlaneLoadBalancer": OPEN,
        "identityRef": IDENTITY_REFERENCE,
        "imageLookupBaseOS": string(),
        "imageLookupFormat": string(),
        "imageLookupOrg": string(),
        # NetworkSpec (api/v1beta2/network_types.go).
        "network": OPEN,
        "partition": string(),
        "region": string(),
        "s3Bucket": OPEN,
        "secondaryControlPlaneLoadBalancer": OPEN,
        "sshKeyName": string(),
    }
)

AWS_CLUSTER: Schema = resource(AWS_CLUSTER_SPEC)

# v1beta1, which CAPA no longer serves (CAPA-R011) but its multitenancy docs still write: only
# identityRef is judged, whose AWSIdentityReference (kind enum, name) is the same in both
# versions of the CRD; the rest of v1beta1's spec differs from v1beta2's and is left open.
AWS_CLUSTER_V1BETA1: Schema = resource(
    {
        "type": "object",
        "properties": {"identityRef": IDENTITY_REFERENCE},
        "x-kubernetes-preserve-unknown-fields": True,
    }
)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (INFRASTRUCTURE_API, "AWSCluster"): AWS_CLUSTER,
    (V1BETA1, "AWSCluster"): AWS_CLUSTER_V1BETA1,
}

"""Schemas of CAPA's cluster-scoped AWS identities (infrastructure.cluster.x-k8s.io/v1beta2).

Complete and exactly as strict as the CRDs: every spec field, enum, bound and required key of
``AWSClusterControllerIdentity``, ``AWSClusterRoleIdentity`` and ``AWSClusterStaticIdentity``
(CAPA ``api/v1beta2/awsidentity_types.go``; the generated CRDs are
``config/crd/bases/infrastructure.cluster.x-k8s.io_awscluster*identities.yaml``).

v1beta1 has the same schema. CAPA v2.0-v2.3 served it, and v2.4.0 stopped (commit 827ee1d1,
"Stop serving v1beta1 API types": ``served: false``), while CAPA's multitenancy docs still
write it. It is checked all the same, so that a typo in a copied example is named as one;
that the version itself is refused is CAPA-R011's (``capa_accounts.core.schema.served``).
"""

from __future__ import annotations

from capa_accounts.core import resources
from capa_accounts.core.resources import INFRA_API, INFRA_GROUP
from capa_accounts.core.schema.core import (
    LABEL_SELECTOR,
    Schema,
    integer,
    obj,
    resource,
    string,
    string_list,
)

API_VERSION = INFRA_API
V1BETA1 = f"{INFRA_GROUP}/v1beta1"

# AllowedNamespaces (awsidentity_types.go): nil admits no namespace, ``{}`` admits every
# namespace, and both ``allowedNamespaces`` and ``list`` are nullable pointers/slices.
# The selector is x-kubernetes-map-type: atomic, which changes merging, not validation.
ALLOWED_NAMESPACES: Schema = {
    **obj(
        {
            "list": {**string_list(), "nullable": True},
            "selector": LABEL_SELECTOR,
        }
    ),
    "nullable": True,
}

IDENTITY_KINDS = list(resources.IDENTITY_KINDS)

# AWSIdentityReference: ``kind`` is an enum of the three identity kinds, ``name`` non-empty.
# Shared with AWSManagedControlPlane.spec.identityRef.
IDENTITY_REFERENCE: Schema = obj(
    {
        "kind": string(enum=IDENTITY_KINDS),
        "name": string(minLength=1),
    },
    "kind",
    "name",
)

# The CRDs of the identities have no ``status`` (no subresource, no field), so none here.
CONTROLLER_IDENTITY: Schema = resource(obj({"allowedNamespaces": ALLOWED_NAMESPACES}), status=False)

STATIC_IDENTITY: Schema = resource(
    obj({"allowedNamespaces": ALLOWED_NAMESPACES, "secretRef": string()}, "secretRef"), status=False
)

# AWSRoleSpec + AWSClusterRoleIdentitySpec. durationSeconds is bounded by STS's
# AssumeRole limits (900..43200); roleARN is the only required field.
ROLE_IDENTITY: Schema = resource(
    obj(
        {
            "allowedNamespaces": ALLOWED_NAMESPACES,
            "durationSeconds": integer(minimum=900, maximum=43200),
            "externalID": string(),
            "inlinePolicy": string(),
            "policyARNs": string_list(),
            "roleARN": string(),
            "sessionName": string(),
            "sourceIdentityRef": IDENTITY_REFERENCE,
        },
        "roleARN",
    ),
    status=False,
)

_BY_KIND: dict[str, Schema] = {
    "AWSClusterControllerIdentity": CONTROLLER_IDENTITY,
    "AWSClusterRoleIdentity": ROLE_IDENTITY,
    "AWSClusterStaticIdentity": STATIC_IDENTITY,
}
# The CRDs' v1beta1 and v1beta2 schemas are equal but for x-kubernetes-list-type, which changes
# merging, not validation (tests/test_crd_agreement.py compares both versions).
SCHEMAS: dict[tuple[str, str], Schema] = {
    (version, kind): schema
    for version in (API_VERSION, V1BETA1)
    for kind, schema in _BY_KIND.items()
}

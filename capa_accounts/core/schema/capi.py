"""Schemas of Cluster API's ``Cluster`` and ``MachinePool`` (cluster.x-k8s.io v1beta1, v1beta2).

Both versions are served by CAPI v1.11+ (``core/config/crd/bases/cluster.x-k8s.io_clusters.yaml``
and ``..._machinepools.yaml``). CAPA's EKS templates still write v1beta1, with
``corev1.ObjectReference``s; v1beta2 replaced those by ``ContractVersionedObjectReference``
(``apiGroup``, ``kind``, ``name``) and made most structs "at least one field"
(``minProperties: 1``). ``spec.topology`` (ClusterClass) is left open: this tool never writes
it, and its schema is the largest and most volatile part of the CRD.
"""

from __future__ import annotations

from capa_accounts.core.resources import CAPI_V1BETA1, CAPI_V1BETA2
from capa_accounts.core.schema.core import (
    OBJECT_REFERENCE,
    Schema,
    array,
    boolean,
    integer,
    obj,
    resource,
    string,
    string_map,
)

V1BETA1 = CAPI_V1BETA1
V1BETA2 = CAPI_V1BETA2

# Validation markers of CAPI api/core/v1beta2/common_types.go (DNS-1123 subdomain and label,
# qualified condition types and taint keys).
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_KIND = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
_CONDITION_TYPE = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
_TAINT_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?"
    r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
)
_TAINT_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

# ContractVersionedObjectReference (v1beta2).
VERSIONED_REFERENCE: Schema = obj(
    {
        "apiGroup": string(minLength=1, maxLength=253, pattern=_DNS_SUBDOMAIN),
        "kind": string(minLength=1, maxLength=63, pattern=_KIND),
        "name": string(minLength=1, maxLength=253, pattern=_DNS_SUBDOMAIN),
    },
    "apiGroup",
    "kind",
    "name",
)


def _gates(**bounds: int) -> Schema:
    return array(
        obj(
            {
                "conditionType": string(minLength=1, maxLength=316, pattern=_CONDITION_TYPE),
                "polarity": string(enum=["Positive", "Negative"]),
            },
            "conditionType",
        ),
        maxItems=32,
        **bounds,
    )


def _network(v1beta2: bool) -> Schema:
    bounds = {"minItems": 1} if v1beta2 else {}
    blocks = obj(
        {"cidrBlocks": array(string(minLength=1, maxLength=43), maxItems=100, **bounds)},
        "cidrBlocks",
    )
    port = integer(minimum=1, maximum=65535) if v1beta2 else integer()
    return obj(
        {
            "apiServerPort": port,
            "pods": blocks,
            "serviceDomain": string(minLength=1, maxLength=253),
            "services": blocks,
        },
        **({"minProperties": 1} if v1beta2 else {}),
    )


CLUSTER_V1BETA1: Schema = resource(
    obj(
        {
            "availabilityGates": _gates(),
            "clusterNetwork": _network(False),
            "controlPlaneEndpoint": obj({"host": string(maxLength=512), "port": integer()}),
            "controlPlaneRef": OBJECT_REFERENCE,
            "infrastructureRef": OBJECT_REFERENCE,
            "paused": boolean(),
            "topology": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }
    )
)

CLUSTER_V1BETA2: Schema = resource(
    obj(
        {
            "availabilityGates": _gates(minItems=1),
            "clusterNetwork": _network(True),
            "controlPlaneEndpoint": obj(
                {
                    "host": string(minLength=1, maxLength=512),
                    "port": integer(minimum=1, maximum=65535),
                },
                minProperties=1,
            ),
            "controlPlaneRef": VERSIONED_REFERENCE,
            "infrastructureRef": VERSIONED_REFERENCE,
            "paused": boolean(),
            "topology": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
        minProperties=1,
    ),
    spec_required=True,
)

_TAINTS: Schema = array(
    obj(
        {
            "effect": string(enum=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
            "key": string(minLength=1, maxLength=317, pattern=_TAINT_KEY),
            "propagation": string(enum=["Always", "OnInitialization"]),
            "value": string(minLength=1, maxLength=63, pattern=_TAINT_VALUE),
        },
        "effect",
        "key",
        "propagation",
    ),
    minItems=1,
    maxItems=64,
)

# MachineSpec as embedded in MachinePool.spec.template.spec.
_MACHINE_SPEC_V1BETA1: Schema = obj(
    {
        "bootstrap": obj(
            {
                "configRef": OBJECT_REFERENCE,
                "dataSecretName": string(minLength=0, maxLength=253),
            }
        ),
        "clusterName": string(minLength=1, maxLength=63),
        "failureDomain": string(minLength=1, maxLength=256),
        "infrastructureRef": OBJECT_REFERENCE,
        "nodeDeletionTimeout": string(),
        "nodeDrainTimeout": string(),
        "nodeVolumeDetachTimeout": string(),
        "providerID": string(minLength=1, maxLength=512),
        "readinessGates": _gates(),
        "taints": _TAINTS,
        "version": string(minLength=1, maxLength=256),
    },
    "bootstrap",
    "clusterName",
    "infrastructureRef",
)

_MACHINE_SPEC_V1BETA2: Schema = obj(
    {
        "bootstrap": obj(
            {
                "configRef": VERSIONED_REFERENCE,
                "dataSecretName": string(minLength=0, maxLength=253),
            }
        ),
        "clusterName": string(minLength=1, maxLength=63),
        "deletion": obj(
            {
                "nodeDeletionTimeoutSeconds": integer(minimum=0),
                "nodeDrainTimeoutSeconds": integer(minimum=0),
                "nodeVolumeDetachTimeoutSeconds": integer(minimum=0),
            },
            minProperties=1,
        ),
        "failureDomain": string(minLength=1, maxLength=256),
        "infrastructureRef": VERSIONED_REFERENCE,
        "minReadySeconds": integer(minimum=0),
        "providerID": string(minLength=1, maxLength=512),
        "readinessGates": _gates(minItems=1),
        "taints": _TAINTS,
        "version": string(minLength=1, maxLength=256),
    },
    "bootstrap",
    "clusterName",
    "infrastructureRef",
)

# ObjectMeta of CAPI templates: only labels and annotations survive.
_TEMPLATE_META: Schema = obj({"annotations": string_map(), "labels": string_map()})

MACHINE_POOL_V1BETA1: Schema = resource(
    obj(
        {
            "clusterName": string(minLength=1, maxLength=63),
            "failureDomains": array(string(minLength=1, maxLength=256), maxItems=100),
            "minReadySeconds": integer(),
            "providerIDList": array(string(minLength=1, maxLength=512), maxItems=10000),
            "replicas": integer(),
            "template": obj({"metadata": _TEMPLATE_META, "spec": _MACHINE_SPEC_V1BETA1}),
        },
        "clusterName",
        "template",
    )
)

MACHINE_POOL_V1BETA2: Schema = resource(
    obj(
        {
            "clusterName": string(minLength=1, maxLength=63),
            "failureDomains": array(string(minLength=1, maxLength=256), maxItems=100),
            "providerIDList": array(string(minLength=1, maxLength=512), maxItems=10000),
            "replicas": integer(),
            "template": obj(
                {"metadata": {**_TEMPLATE_META, "minProperties": 1}, "spec": _MACHINE_SPEC_V1BETA2},
                "spec",
            ),
        },
        "clusterName",
        "template",
    ),
    spec_required=True,
)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (V1BETA1, "Cluster"): CLUSTER_V1BETA1,
    (V1BETA2, "Cluster"): CLUSTER_V1BETA2,
    (V1BETA1, "MachinePool"): MACHINE_POOL_V1BETA1,
    (V1BETA2, "MachinePool"): MACHINE_POOL_V1BETA2,
}

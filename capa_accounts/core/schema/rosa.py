"""Schemas of the ROSA kinds that carry an ``identityRef``: ``ROSAControlPlane``, ``ROSANetwork``
and ``ROSARoleConfig`` (CAPA ``controlplane/rosa/api/v1beta2/rosacontrolplane_types.go``,
``exp/api/v1beta2/rosanetwork_types.go``, ``exp/api/v1beta2/rosaroleconfig_types.go``).

Only the fields ``check`` judges are described, exactly as the CRDs do (``identityRef``,
``region``); every other key is accepted (the spec keeps unknown fields here). ROSA moves fast
between CAPA releases, and a built-in schema must never reject what the CRD accepts; pass the
release's CRDs with ``check --crd`` for full strictness.
"""

from __future__ import annotations

from capa_accounts.core.schema.core import Schema, resource, string
from capa_accounts.core.schema.eks import CONTROL_PLANE_API, INFRASTRUCTURE_API
from capa_accounts.core.schema.identities import IDENTITY_REFERENCE

_SPEC: Schema = {
    "type": "object",
    "x-kubernetes-preserve-unknown-fields": True,
    "properties": {"identityRef": IDENTITY_REFERENCE, "region": string()},
}

ROSA: Schema = resource(_SPEC)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (CONTROL_PLANE_API, "ROSAControlPlane"): ROSA,
    (INFRASTRUCTURE_API, "ROSANetwork"): ROSA,
    # Earlier CRDs (config/crd/bases/infrastructure.cluster.x-k8s.io_rosanetworks.yaml) named
    # the kind RosaNetwork.
    (INFRASTRUCTURE_API, "RosaNetwork"): ROSA,
    (INFRASTRUCTURE_API, "ROSARoleConfig"): ROSA,
}

"""Schema of the CAPI Operator's ``InfrastructureProvider`` (operator.cluster.x-k8s.io/v1alpha2).

Used in the ``credentials: operator`` mode, where each account gets its own CAPA copy with a
``configSecret`` and a ``--watch-filter``. Strict for everything the tool writes (``version``,
``configSecret``, ``fetchConfig``, ``manager``); the embedded pod template of ``deployment``
(containers, affinity, tolerations: the Kubernetes core types) is left open. Source:
kubernetes-sigs/cluster-api-operator ``api/v1alpha2/provider_types.go``, CRD
``config/crd/bases/operator.cluster.x-k8s.io_infrastructureproviders.yaml``. The CEL rules
(exactly one of ``fetchConfig.oci|url|selector``; not both ``patches`` and
``manifestPatches``) are in ``cel_rules``.
"""

from __future__ import annotations

from capa_accounts.core.resources import OPERATOR_API
from capa_accounts.core.schema.core import (
    LABEL_SELECTOR,
    OPEN,
    Schema,
    array,
    boolean,
    integer,
    obj,
    resource,
    string,
    string_list,
    string_map,
)

API_VERSION = OPERATOR_API

# ManagerSpec. ``additionalArgs`` is a map of strings that the operator copies verbatim as
# "key=value" container args (internal/controller/component_customizer.go), so the key must
# carry its own "--".
MANAGER: Schema = obj(
    {
        "additionalArgs": string_map(),
        "cacheNamespace": string(),
        "controller": obj(
            {
                "cacheSyncTimeout": integer(),
                "groupKindConcurrency": string_map(integer()),
                "recoverPanic": boolean(),
            }
        ),
        "featureGates": string_map(boolean()),
        "gracefulShutDown": string(),
        "health": obj(
            {
                "healthProbeBindAddress": string(),
                "livenessEndpointName": string(),
                "readinessEndpointName": string(),
            }
        ),
        "leaderElection": obj(
            {
                "leaderElect": boolean(),
                "leaseDuration": string(),
                "renewDeadline": string(),
                "resourceLock": string(),
                "resourceName": string(),
                "resourceNamespace": string(),
                "retryPeriod": string(),
            },
            "leaderElect",
            "leaseDuration",
            "renewDeadline",
            "resourceLock",
            "resourceName",
            "resourceNamespace",
            "retryPeriod",
        ),
        "maxConcurrentReconciles": integer(minimum=1),
        "metrics": obj(
            {
                "bindAddress": string(),
                "diagnosticsAddress": string(),
                "insecureDiagnostics": boolean(),
            }
        ),
        "profilerAddress": string(),
        "syncPeriod": string(),
        "verbosity": integer(minimum=0),
        "webhook": obj({"certDir": string(), "host": string(), "port": integer()}),
    }
)

_NAMESPACED_REF: Schema = obj({"name": string(), "namespace": string()}, "name")

PROVIDER_SPEC: Schema = obj(
    {
        "additionalDeployments": string_map(obj({"deployment": OPEN, "manager": MANAGER})),
        "additionalManifests": _NAMESPACED_REF,
        "configSecret": _NAMESPACED_REF,
        # DeploymentSpec: replicas, nodeSelector, tolerations, affinity, containers (core types).
        "deployment": OPEN,
        # FetchConfiguration: only ``aws`` is a predefined provider name, so a provider named
        # ``aws-<account>`` needs ``url`` (preflight_checks.go).
        "fetchConfig": obj({"oci": string(), "selector": LABEL_SELECTOR, "url": string()}),
        "manager": MANAGER,
        "manifestPatches": string_list(),
        "patches": array(
            obj(
                {
                    "patch": string(),
                    "target": obj(
                        {
                            "group": string(),
                            "kind": string(),
                            "labelSelector": string(),
                            "name": string(),
                            "namespace": string(),
                            "version": string(),
                        }
                    ),
                }
            )
        ),
        "version": string(),
    }
)

INFRASTRUCTURE_PROVIDER: Schema = resource(PROVIDER_SPEC)

SCHEMAS: dict[tuple[str, str], Schema] = {
    (API_VERSION, "InfrastructureProvider"): INFRASTRUCTURE_PROVIDER,
}

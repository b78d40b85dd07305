"""The Flux objects render writes: one ``Kustomization`` per overlay, and ``.sourceignore``.

Flux's kustomize-controller builds each path with builtins only (fluxcd/pkg
kustomize/kustomize_generator.go), which is why the overlays are rendered plain.
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core.model import MANAGEMENT, OPERATOR, ROLE_IDENTITY, Account

API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
FLUX_NAMESPACE = "flux-system"
SOURCE = {"kind": "GitRepository", "name": "flux-system"}
INTERVAL = "10m"
# Operator mode: where the user's SOPS-encrypted Secrets are decrypted at apply time
# (https://fluxcd.io/flux/guides/mozilla-sops/): the age key as a Secret in flux-system.
SOPS_AGE = "sops-age"
PROVIDERS_DIR = "providers"
# The admission policy and its binding: a directory of its own under overlays/management, so that
# no account name can collide with it, applied by a Kustomization of its own (see below).
ADMISSION_DIR = f"{MANAGEMENT}/admission-policy"
ADMISSION_KUSTOMIZATION = f"capa-{MANAGEMENT}-admission-policy"


# `wait: true` alone does not wait for CAPA: kstatus judges a custom resource by
# status.observedGeneration and its Reconciling/Stalled conditions only (kubernetes-sigs/cli-utils
# pkg/kstatus/status/generic.go), and the operator patches observedGeneration on its first
# reconcile, which only adds its finalizer (cluster-api-operator
# internal/controller/genericprovider_controller.go, Reconcile). The provider's Ready condition
# is what follows the CAPA Deployment's Available condition (internal/controller/healthcheck/
# healthcheck_controller.go; clusterv1.ReadyCondition). Flux evaluates healthCheckExprs only
# with wait or healthChecks, after its own observedGeneration check (fluxcd/pkg
# runtime/cel/status_evaluator.go); kustomize-controller v1.5.0 (Flux v2.5) added the field
# (api/v1/kustomization_types.go, HealthCheckExprs). `exists`, not `all`: a provider with no
# Ready condition yet is not ready; `has` first: the first status has no conditions. (Before
# the first status the expression fails to evaluate, which Flux reads as Unknown and keeps
# waiting: fluxcd/pkg ssa/manager_wait.go.) No `failed`: Ready is False while CAPA rolls out.
PROVIDER_HEALTH = {
    "apiVersion": "operator.cluster.x-k8s.io/v1alpha2",
    "kind": "InfrastructureProvider",
    "current": "has(status.conditions)"
    " && status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
}


def kustomization_name(overlay: str) -> str:
    return f"capa-{overlay}"


def provider_kustomization_name(account: Account) -> str:
    return kustomization_name(f"{account.name}-provider")


def management_kustomization(credentials: str = ROLE_IDENTITY) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": kustomization_name(MANAGEMENT), "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": INTERVAL,
            "path": f"./overlays/{MANAGEMENT}",
            "prune": True,
            # CAPA's webhook rejects every change to the spec of `default`
            # (webhooks/awsclustercontrolleridentity_webhook.go:96-98); with force Flux
            # recreates it when the account list changes instead of failing every sync.
            "force": True,
            "sourceRef": dict(SOURCE),
        },
    }
    if credentials == OPERATOR:
        # `default` needs CAPA's CRDs, which in this mode only the providers install (through
        # the operator, after their own Kustomizations): the first applies fail with "no
        # matches for kind" until then, so retry soon rather than after the interval. No
        # dependsOn on the providers: one account's broken provider must not block the others.
        doc["spec"]["retryInterval"] = "1m"
    return doc


def admission_kustomization() -> dict[str, Any]:
    """The admission policy and its binding, apart from `default` and without ``force``.

    With ``force: true`` kustomize-controller deletes and recreates every object whose patch
    fails as Invalid (422) or Conflict (fluxcd/pkg ssa/utils IsImmutableError, used by the
    apply of ``spec.force``, kustomize-controller docs "spec.force"): a policy update the API
    server rejects would delete the policy and leave the account namespaces unguarded until a
    fixed one is applied. The policy has no immutable field, so it needs no force; a rejected
    update leaves the running policy in place and the Kustomization not Ready.
    """
    return {
        "apiVersion": API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": ADMISSION_KUSTOMIZATION, "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": INTERVAL,
            "path": f"./overlays/{ADMISSION_DIR}",
            "prune": True,
            "sourceRef": dict(SOURCE),
        },
    }


def account_kustomization(account: Account, admission: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": kustomization_name(account.name), "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": INTERVAL,
            "path": f"./overlays/{account.name}",
            "prune": True,
            # Removing an account from git must never delete a running EKS cluster, nor the
            # identity CAPA needs to delete one: objects are orphaned, decommissioning is manual.
            "deletionPolicy": "Orphan",
            "dependsOn": [{"name": kustomization_name(MANAGEMENT)}],
            "sourceRef": dict(SOURCE),
        },
    }
    if admission:
        # The account's clusters are created only once the policy that guards them is applied.
        doc["spec"]["dependsOn"].append({"name": ADMISSION_KUSTOMIZATION})
    if account.credentials == OPERATOR:
        # The clusters wait for their own provider: its webhooks must answer their creation.
        doc["spec"]["dependsOn"].append({"name": provider_kustomization_name(account)})
    return doc


def provider_kustomization(account: Account) -> dict[str, Any]:
    """Operator mode: the account's provider, its namespace and the user's encrypted Secret.

    A stage of its own: the provider installs CAPA's CRDs, so the account's clusters cannot be
    in the same Kustomization (kustomize-controller dry-runs every object before applying
    any, and fails on a kind that has no CRD yet). It is Ready only once CAPA runs, which the
    clusters depend on: see PROVIDER_HEALTH.
    """
    return {
        "apiVersion": API_VERSION,
        "kind": "Kustomization",
        "metadata": {"name": provider_kustomization_name(account), "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": INTERVAL,
            "path": f"./{PROVIDERS_DIR}/{account.name}",
            "prune": True,
            # Removing an account must not remove the CAPA that can delete its clusters.
            "deletionPolicy": "Orphan",
            "wait": True,
            "healthCheckExprs": [dict(PROVIDER_HEALTH)],
            "decryption": {"provider": "sops", "secretRef": {"name": SOPS_AGE}},
            "sourceRef": dict(SOURCE),
        },
    }


SOURCEIGNORE = """\
# Not Kubernetes objects: clusterawsadm input and the tool's own configuration.
/bootstrap/
/accounts.yaml
/base/
"""

"""The Flux objects render writes: one ``Kustomization`` per overlay, and ``.sourceignore``.

Flux's kustomize-controller builds each path with builtins only (fluxcd/pkg
kustomize/kustomize_generator.go), which is why the overlays are rendered plain.
"""

from __future__ import annotations

from typing import Any

from kustomize_plugin.model import MANAGEMENT, Account

API_VERSION = "kustomize.toolkit.fluxcd.io/v1"
FLUX_NAMESPACE = "flux-system"
SOURCE = {"kind": "GitRepository", "name": "flux-system"}
INTERVAL = "10m"


def kustomization_name(overlay: str) -> str:
    return f"capa-{overlay}"


def management_kustomization() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION, "kind": "Kustomization",
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


def account_kustomization(account: Account) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION, "kind": "Kustomization",
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


SOURCEIGNORE = """\
# Not Kubernetes objects: clusterawsadm input and the tool's own configuration.
/bootstrap/
/accounts.yaml
/base/
"""

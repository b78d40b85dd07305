"""Operator mode (``spec.credentials: operator``): a CAPI Operator provider per account.

Each account gets its own CAPA copy, installed by cluster-api-operator into namespace
``capa-<account>``, running with that account's static keys from a ``configSecret`` the user
supplies SOPS-encrypted, and reconciling only the clusters labelled
``cluster.x-k8s.io/watch-filter: <account>``. This module owns what that mode adds to an
account's objects (the provider, its namespace, the label, ``identityRef`` to ``default``) and
the operator facts the ``check`` rules (CAPA-O001 … O004) share with the transformation.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from typing import Any

from capa_accounts.core.model import Account
from capa_accounts.core.resources import (
    CAPI_GROUP,
    CONTROLLER_IDENTITY,
    CONTROLPLANE_GROUP,
    DEFAULT_IDENTITY,
    INFRA_GROUP,
    OPERATOR_API,
    OPERATOR_GROUP,
    group_of,
)

OPERATOR_API_VERSION = OPERATOR_API
PROVIDER_KIND = "InfrastructureProvider"
# The operator copies each additionalArgs key verbatim as "key=value" into the manager's args
# (cluster-api-operator internal/controller/component_customizer.go, setArgs): the key must
# carry its own "--", or pflag reads the whole word as a positional argument CAPA ignores.
WATCH_FILTER_ARG = "--watch-filter"
CAPA_RELEASES = "https://github.com/kubernetes-sigs/cluster-api-provider-aws/releases"
CREDENTIALS_FILE = "credentials.sops.yaml"  # the user's encrypted Secret, beside the provider
# Kubernetes label values (k8s.io/apimachinery pkg/util/validation IsValidLabelValue): CAPA's
# --watch-filter is compared with the value of WATCH_FILTER_LABEL (CAPA main.go, the
# watch-filter flag; cluster-api util/predicates ResourceHasFilterLabel), so a value no label
# can hold matches nothing.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_VALUE_MAX = 63
# Kinds of one EKS cluster that CAPA's reconcilers filter by the label (the base's cluster).
WATCHED_KINDS = frozenset(
    {
        (CAPI_GROUP, "Cluster"),
        (CAPI_GROUP, "MachinePool"),
        (INFRA_GROUP, "AWSManagedCluster"),
        (INFRA_GROUP, "AWSManagedMachinePool"),
        (INFRA_GROUP, "AWSCluster"),
        (INFRA_GROUP, "AWSMachinePool"),
        (INFRA_GROUP, "AWSFargateProfile"),
        (CONTROLPLANE_GROUP, "AWSManagedControlPlane"),
    }
)
# Infrastructure provider names clusterctl knows without configuration (cluster-api
# cmd/clusterctl/client/config/providers_client.go, defaults()); the operator's preflight
# refuses any other name without fetchConfig (internal/controller/preflight_checks.go,
# isPredefinedProvider). For AWS only `aws` is predefined, and provider names are unique per
# kind across namespaces, so per-account providers need fetchConfig.
PREDEFINED_INFRASTRUCTURE = frozenset(
    {
        "aws",
        "azure",
        "byoh",
        "cloudstack",
        "coxedge",
        "digitalocean",
        "docker",
        "gcp",
        "hetzner",
        "hivelocity-hivelocity",
        "ibmcloud",
        "in-memory",
        "ionoscloud-ionoscloud",
        "k0sproject-k0smotron",
        "kubekey",
        "kubevirt",
        "linode-linode",
        "maas",
        "metal3",
        "nested",
        "nutanix",
        "oci",
        "openstack",
        "outscale",
        "packet",
        "proxmox",
        "sidero",
        "tinkerbell-tinkerbell",
        "vcd",
        "vcluster",
        "virtink",
        "vsphere",
        "vultr-vultr",
    }
)

Item = MutableMapping[str, Any]

# CAPA's components hold one ClusterRole and one ClusterRoleBinding for the manager (CAPA
# config/rbac/role.yaml and role_binding.yaml, namePrefix capa- from config/default). clusterctl,
# which the operator runs on the components, rewrites only the namespace of a binding's
# namespaced subjects (cluster-api cmd/clusterctl/client/repository/components.go, fixRBAC),
# so every provider applies the same `capa-manager-rolebinding` naming only its own
# ServiceAccount: the last one applied takes the cluster-wide RBAC from all earlier ones, whose
# managers then fail on every list and watch. Each provider therefore renames both objects with
# the operator's `spec.patches` (RFC 6902 patches with a target: cluster-api-operator
# api/v1alpha2 provider_types.go, ProviderSpec.Patches), so no two providers share either; a
# shared ClusterRole would also be deleted with the first provider removed.
RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGER_CLUSTER_ROLE = "capa-manager-role"
MANAGER_ROLE_BINDING = "capa-manager-rolebinding"
# The operator passes manager.featureGates as the manager's --feature-gates (api/v1alpha2
# ManagerSpec.FeatureGates, "Controller Manager flag is --feature-gates"). Since operator
# v0.26.0 it merges them into the components' own --feature-gates argument, the map's values
# winning (internal/controller/component_customizer.go, customizeManager and
# parseFeatureGates: "make feature gates additive"); before, the map replaced the whole
# argument and every gate not in it took CAPA's built-in default (feature/feature.go). Both
# gates below are set either way:
# - MachinePool: the base has MachinePools and AWSManagedMachinePools, which CAPA serves and
#   admits only with this gate; the components ship it off (config/manager/manager.yaml,
#   MachinePool=${EXP_MACHINE_POOL:=false}).
# - AutoControllerIdentityCreator: on by default (feature/feature.go), it makes each CAPA copy
#   create `default` admitting every namespace (allowedNamespaces: {}) whenever `default` is
#   missing and a cluster it watches exists (main.go, AWSControllerIdentityReconciler;
#   exp/controlleridentitycreator/awscontrolleridentity_controller.go). Flux's force replaces
#   `default` by deleting and recreating it, so in that window any provider could create an
#   open `default` first, and the repository's list would then fail to apply over it. The
#   repository ships `default` itself (render.management_items), so no copy needs the creator.
FEATURE_GATES = {"MachinePool": True, "AutoControllerIdentityCreator": False}


def rbac_names(account: Account) -> tuple[str, str]:
    """The ClusterRole and ClusterRoleBinding of the account's CAPA, as its patches name them."""
    return (f"capa-{account.name}-manager-role", f"capa-{account.name}-manager-rolebinding")


def rbac_patches(account: Account) -> list[dict[str, Any]]:
    role, binding = rbac_names(account)

    def ops(*pairs: tuple[str, str]) -> str:
        return json.dumps([{"op": "replace", "path": p, "value": v} for p, v in pairs])

    return [
        {
            "target": {"group": RBAC_GROUP, "kind": "ClusterRole", "name": MANAGER_CLUSTER_ROLE},
            "patch": ops(("/metadata/name", role)),
        },
        {
            "target": {
                "group": RBAC_GROUP,
                "kind": "ClusterRoleBinding",
                "name": MANAGER_ROLE_BINDING,
            },
            "patch": ops(("/metadata/name", binding), ("/roleRef/name", role)),
        },
    ]


def _owned_patch(entry: Any) -> bool:
    target = entry.get("target") if isinstance(entry, MutableMapping) else None
    return (
        isinstance(target, MutableMapping)
        and target.get("name") in (MANAGER_CLUSTER_ROLE, MANAGER_ROLE_BINDING)
        and target.get("kind") in ("ClusterRole", "ClusterRoleBinding")
    )


def provider_name(account: Account) -> str:
    return f"aws-{account.name}"


def provider_namespace(account: Account) -> str:
    return f"capa-{account.name}"


def credentials_secret(account: Account) -> str:
    return f"{account.name}-credentials"


def components_url(version: str) -> str:
    """The CAPA release's components file, in the form clusterctl's GitHub repository accepts.

    The CRD's description suggests ``https://github.com/{owner}/{repo}/releases``, but the
    operator hands the URL to clusterctl (internal/controller/phase_initialize.go, secretReader;
    util/util.go, RepositoryFactory), whose NewGitHubRepository rejects anything shorter than
    ``.../releases/{latest|version-tag}/{components file}`` (cluster-api
    cmd/clusterctl/client/repository/repository_github.go). Pinning the tag in the URL as well
    avoids a "latest release" lookup against the GitHub API.
    """
    return f"{CAPA_RELEASES}/{version}/infrastructure-components.yaml"


def is_valid_label_value(value: str) -> bool:
    return len(value) <= LABEL_VALUE_MAX and bool(LABEL_VALUE.match(value))


def is_provider_item(item: Item, account: Account) -> bool:
    """Whether the transformation owns ``item`` as the account's provider or its namespace."""
    api, kind = item.get("apiVersion"), item.get("kind")
    if group_of(api) == OPERATOR_GROUP and kind == PROVIDER_KIND:
        return True
    meta = item.get("metadata")
    name = meta.get("name") if isinstance(meta, MutableMapping) else None
    return api == "v1" and kind == "Namespace" and name == provider_namespace(account)


def identity_ref() -> dict[str, str]:
    """Each provider's `default` is its own credentials: the account's keys, not management's.

    The controller identity means "the controller's own credentials" (CAPA
    pkg/cloud/scope/session.go:242-249), and each account's CAPA runs with that account's keys.
    """
    return {"kind": CONTROLLER_IDENTITY, "name": DEFAULT_IDENTITY}


def provider_items(account: Account) -> list[dict[str, Any]]:
    """The account's provider and its namespace, as the transformation appends them."""
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": provider_namespace(account)},
    }
    provider = {
        "apiVersion": OPERATOR_API_VERSION,
        "kind": PROVIDER_KIND,
        "metadata": {"name": provider_name(account), "namespace": provider_namespace(account)},
        "spec": {},
    }
    fill_provider(provider, account)
    return [namespace, provider]


def fill_provider(item: Item, account: Account) -> None:
    """Set the fields of the account's provider that this mode owns; leave the rest."""
    if item.get("kind") == "Namespace":
        return
    meta = _child(item, "metadata")
    _set(meta, "name", provider_name(account))
    _set(meta, "namespace", provider_namespace(account))
    spec = _child(item, "spec")
    # Pinned: an unpinned provider follows "latest" and may upgrade CAPA under running clusters.
    _set(spec, "version", account.capa_version)
    # Only `aws` is a predefined provider name; aws-<account> needs fetchConfig (preflight).
    _set(spec, "fetchConfig", {"url": components_url(account.capa_version)})
    # The Secret must live beside the provider (configSecret doc, api/v1alpha2 provider_types.go).
    _set(
        spec,
        "configSecret",
        {"name": credentials_secret(account), "namespace": provider_namespace(account)},
    )
    manager = _child(spec, "manager")
    _set(_child(manager, "additionalArgs"), WATCH_FILTER_ARG, account.name)
    gates = _child(manager, "featureGates")
    for gate, value in FEATURE_GATES.items():
        _set(gates, gate, value)
    patches = spec.get("patches")
    kept = [p for p in patches if not _owned_patch(p)] if isinstance(patches, list) else []
    _set(spec, "patches", [*kept, *rbac_patches(account)])


def _child(mapping: Item, key: str) -> Item:
    value = mapping.get(key)
    if not isinstance(value, MutableMapping):
        value = mapping[key] = {}
    return value


def _set(mapping: Item, key: str, value: Any) -> None:
    """Assign only when different, so a round-trip map keeps its comments and key order."""
    if mapping.get(key) != value:
        mapping[key] = value


def account_items(items: list[Item], account: Account) -> tuple[list[Item], str | None]:
    """The base's items as this mode uses them, or why they cannot be used.

    The base serves both modes; in this one the role identity is not rendered: nothing would
    reference it, and CAPA would still let any namespace it admits assume the role.
    """
    if account.namespace == provider_namespace(account):
        return items, (
            f"namespace {account.namespace!r} of account {account.name!r} is the "
            "namespace of its CAPA provider: give the clusters another namespace"
        )
    # A provider in the base is the account's own, customised (deployment, featureGates): the
    # fields this mode owns are filled in. Two would both become aws-<account>.
    own = [i for i in items if is_provider_item(i, account) and i.get("kind") == PROVIDER_KIND]
    if len(own) > 1:
        return items, "the base may hold at most one InfrastructureProvider (the account's)"
    spec = own[0].get("spec") if own else None
    if isinstance(spec, MutableMapping) and spec.get("manifestPatches"):
        # The operator refuses both fields at once (the CRD's CEL rule), and this mode writes
        # `patches` to rename the manager's cluster-wide RBAC per account.
        return items, (
            "the base's InfrastructureProvider sets manifestPatches, but operator "
            "mode writes spec.patches (the operator refuses both): write them as "
            "spec.patches"
        )
    kept = [
        i
        for i in items
        if not (
            group_of(i.get("apiVersion")) == INFRA_GROUP
            and i.get("kind") == "AWSClusterRoleIdentity"
        )
    ]
    return kept, None


def with_provider(items: list[Item], account: Account) -> list[Item]:
    """Fill the provider and its namespace where present (idempotence); append what is missing."""
    present = {str(i.get("kind")) for i in items if is_provider_item(i, account)}
    for item in items:
        if is_provider_item(item, account):
            fill_provider(item, account)
    return [*items, *(i for i in provider_items(account) if i["kind"] not in present)]

"""Operator mode's cluster-wide RBAC (CAPA-O005): does every CAPA copy keep its own permissions?

Every CAPA install brings the manager's ClusterRole and ClusterRoleBinding under fixed names,
and clusterctl rewrites only the binding's subjects to the provider's namespace; several
providers therefore overwrite one binding unless each renames it with the operator's `patches`
or `manifestPatches`. This module reads those patches the way the operator applies them and
finds two providers whose manager binding ends up with one name.
"""

from __future__ import annotations

from typing import Any

import yaml

from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.operator import is_aws, providers
from capa_accounts.kustomize_plugin.operator_mode import MANAGER_ROLE_BINDING, RBAC_GROUP

BINDING = "ClusterRoleBinding"


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # R004 and the operator report a patch that is not YAML


def _targets_binding(target: Any) -> bool:
    """Whether a `patches` target selects the manager binding (unset fields match any)."""
    if not isinstance(target, dict):
        return False
    return (
        target.get("kind") in (None, BINDING)
        and target.get("group") in (None, RBAC_GROUP)
        and target.get("name") in (None, MANAGER_ROLE_BINDING)
        and target.get("namespace") in (None, "")
        and target.get("labelSelector") in (None, "")
    )


def binding_name(obj: Obj) -> tuple[str, PathT]:
    """The name the provider's manager ClusterRoleBinding gets, and where that is decided.

    `spec.patches` entries are RFC 6902 operations (a list) or strategic merge patches (a
    mapping) applied to the objects their target selects; an `add` or `replace` of
    /metadata/name renames. `spec.manifestPatches` are RFC 7396 merge patches applied to every
    object of their `kind` (cluster-api-operator api/v1alpha2 provider_types.go, the fields'
    documentation); a metadata.name in one for ClusterRoleBinding renames it. Patches apply in
    order, so the last rename wins.
    """
    name: str = MANAGER_ROLE_BINDING
    where: PathT = ("spec",) if obj.has("spec") else ("kind",)
    patches = obj.get("spec", "patches")
    for i, entry in enumerate(patches if isinstance(patches, list) else []):
        if not isinstance(entry, dict) or not _targets_binding(entry.get("target")):
            continue
        body = _parse(entry.get("patch"))
        for op in body if isinstance(body, list) else []:
            if (
                isinstance(op, dict)
                and op.get("op") in ("add", "replace")
                and op.get("path") == "/metadata/name"
                and isinstance(op.get("value"), str)
            ):
                name, where = op["value"], ("spec", "patches", i)
    merges = obj.get("spec", "manifestPatches")
    for i, text in enumerate(merges if isinstance(merges, list) else []):
        body = _parse(text)
        if isinstance(body, dict) and body.get("kind") == BINDING:
            api = body.get("apiVersion")
            new = (
                (body.get("metadata") or {}).get("name")
                if isinstance(body.get("metadata"), dict)
                else None
            )
            if (api is None or str(api).startswith(f"{RBAC_GROUP}/")) and isinstance(new, str):
                name, where = new, ("spec", "manifestPatches", i)
    return name, where


@rule("CAPA-O005", name="SharedManagerRoleBinding")
def check_shared_manager_binding(ctx: Context, report: Reporter) -> None:
    """Two AWS providers install the manager's ClusterRoleBinding under one name.

    Why: CAPA's components bring the manager's ClusterRoleBinding as
    `capa-manager-rolebinding`, and clusterctl, which the operator runs on them, changes only
    the namespace of its subjects (cluster-api cmd/clusterctl/client/repository/components.go,
    fixRBAC). With two providers, the second apply replaces the subjects with its own
    ServiceAccount: the first CAPA loses its cluster-wide permissions and fails on every list
    and watch, so that account's clusters are no longer reconciled (nor deleted). Renaming
    the binding (and the ClusterRole it names) per provider with `spec.patches` keeps one per
    provider (cluster-api-operator api/v1alpha2 provider_types.go, Patches).

    Bad:
        kind: InfrastructureProvider
        metadata: {name: aws-live, namespace: capa-live}
        spec: {version: v2.11.1}     # a second provider, aws-staging, is alike

    Good:
        spec:
          patches:
            - target: {group: rbac.authorization.k8s.io, kind: ClusterRoleBinding,
                       name: capa-manager-rolebinding}
              patch: '[{"op": "replace", "path": "/metadata/name",
                        "value": "capa-live-manager-rolebinding"}]'

    Fix: run `capa-accounts render` (credentials: operator), which renames both objects per
    account; by hand, give each provider a `patches` entry renaming the binding.
    """
    first: dict[str, tuple[Obj, PathT]] = {}
    for obj in (p for p in providers(ctx) if is_aws(p)):
        name, where = binding_name(obj)
        if name not in first:
            first[name] = (obj, where)
            continue
        other, other_where = first[name]
        if other.id == obj.id:
            continue  # the same object twice is CAPA-X002's
        report.at(
            obj,
            where,
            f"InfrastructureProvider {obj.name!r} installs ClusterRoleBinding "
            f"{name!r}, as {other.name!r} does ({other.file}): clusterctl rewrites only "
            "its subjects, so the later install takes the manager's cluster-wide "
            "permissions from the other; rename it per provider with spec.patches",
            at_key=where[-1:] == ("spec",),
            related=(other.location(other_where),),
        )

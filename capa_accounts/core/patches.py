"""Per-account and per-cluster settings: patches in accounts.yaml that render applies.

An account (or one of its clusters) may carry ``patches``: each names a target (``kind`` and,
optionally, the rendered ``name``) and a ``patch`` applied to every matching object of that
account (or cluster) after the function has filled in the account's settings, with the
semantics of a JSON merge patch (RFC 7386): mappings merge, a list or a scalar replaces, and
``null`` removes a key. The patch lives in accounts.yaml and its result in the rendered
overlay, so both show in the pull request and ``render`` keeps them.

What the tool owns stays out of reach: the identity chain (``identityRef``, ``roleARN``,
``sourceIdentityRef``, ``allowedNamespaces``, the identities and the namespace themselves),
names and namespaces, the region and version accounts.yaml declares, and the references that
tie a cluster's objects together. A patch that sets one, or replaces or removes a mapping
that holds one, is refused at its own line.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from capa_accounts.core.record import Record
from capa_accounts.core.resources import (
    ACCOUNT_LABEL,
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    WATCH_FILTER_LABEL,
)

Path = tuple[str | int, ...]

# Kinds whose every field the tool derives from accounts.yaml: the identity chain, the
# account's namespace and, in operator mode, the account's provider.
OWNED_KINDS = {
    ROLE_IDENTITY: "the account's role identity is derived from accounts.yaml",
    CONTROLLER_IDENTITY: "`default` is written once into overlays/management",
    STATIC_IDENTITY: "long-lived keys are refused (CAPA-I008)",
    "Namespace": "the account's namespace is derived from accounts.yaml",
    "InfrastructureProvider": "operator mode derives the account's provider",
}
# Fields the function fills in (kustomize_plugin/transform.py), by path from the object's top.
OWNED_PATHS: dict[Path, str] = {
    ("apiVersion",): "",
    ("kind",): "",
    ("metadata", "name"): "names are derived from the account and cluster names",
    ("metadata", "namespace"): "set `namespace` on the account",
    ("metadata", "labels", CLUSTER_NAME_LABEL): "",
    ("metadata", "labels", ACCOUNT_LABEL): "",
    ("metadata", "labels", WATCH_FILTER_LABEL): "",
    ("spec", "identityRef"): "the identity chain capa-accounts derives",
    ("spec", "region"): "set `region` on the account or the cluster",
    ("spec", "version"): "set `kubernetesVersion` on the account or the cluster",
    ("spec", "eksClusterName"): "the EKS cluster is named after the cluster",
    ("spec", "infrastructureRef"): "",
    ("spec", "controlPlaneRef"): "",
    ("spec", "clusterName"): "",
    ("spec", "template", "spec", "clusterName"): "",
    ("spec", "template", "spec", "infrastructureRef"): "",
    ("spec", "template", "spec", "bootstrap", "configRef"): "",
}
# Keys of the identity chain, refused at any depth.
OWNED_KEYS = ("identityRef", "roleARN", "sourceIdentityRef", "allowedNamespaces")


class Patch(Record):
    """One entry of ``patches``; ``at`` is its path in accounts.yaml, for messages."""

    FIELDS = ("kind", "name", "body", "cluster", "at")
    kind: str
    name: str | None
    # the patch as JSON text: an Account stays hashable
    body: str
    cluster: str | None
    at: Path

    def __init__(
        self,
        kind: str,
        name: str | None,
        body: str,
        cluster: str | None = None,
        at: Path = (),
    ) -> None:
        set_ = object.__setattr__
        set_(self, "kind", kind)
        set_(self, "name", name)
        set_(self, "body", body)
        set_(self, "cluster", cluster)
        set_(self, "at", at)

    @property
    def patch(self) -> dict[str, Any]:
        import json  # only where a patch is applied: most runs have none

        data: dict[str, Any] = json.loads(self.body)
        return data

    def describe(self) -> str:
        target = f"{self.kind} {self.name}" if self.name else self.kind
        return f"patch of {target}" + (f" in cluster {self.cluster}" if self.cluster else "")


def from_entries(entries: Any, at: Path, cluster: str | None = None) -> tuple[Patch, ...]:
    """``patches`` of an account or cluster entry, already validated by the schema."""
    import json

    out = []
    for i, entry in enumerate(entries or []):
        target = entry["target"]
        out.append(
            Patch(
                target["kind"],
                target.get("name"),
                json.dumps(entry["patch"], sort_keys=True),
                cluster,
                (*at, i),
            )
        )
    return tuple(out)


def refusal(entry: Any) -> tuple[Path, str] | None:
    """(path inside the entry, why) when a patch entry would set a field the tool owns."""
    if not isinstance(entry, dict):
        return None
    target = entry.get("target") or {}
    kind = target.get("kind") if isinstance(target, dict) else None
    if kind in OWNED_KINDS:
        return ("target", "kind"), f"{kind} cannot be patched: {OWNED_KINDS[kind]}"
    patch = entry.get("patch")
    if not isinstance(patch, dict):
        return None
    found = _owned(patch, ())
    if found is None:
        return None
    path, why = found
    return ("patch", *path), why


def _owned(value: dict[str, Any], path: Path) -> tuple[Path, str] | None:
    for key, sub in value.items():
        here = (*path, key)
        if key in OWNED_KEYS and here not in OWNED_PATHS:
            return here, f"{key} is part of the identity chain capa-accounts derives"
        if here in OWNED_PATHS:
            hint = OWNED_PATHS[here]
            return here, f"{key} is set by capa-accounts" + (f": {hint}" if hint else "")
        holds = [p for p in OWNED_PATHS if p[: len(here)] == here]
        if holds and not isinstance(sub, dict):
            owned = ".".join(str(p) for p in holds[0])
            return here, f"replacing or removing it would change {owned}, set by capa-accounts"
        found = _owned(sub, here) if isinstance(sub, dict) else _in_list(sub, here)
        if found:
            return found
    return None


def _in_list(value: Any, path: Path) -> tuple[Path, str] | None:
    """Identity-chain keys inside list entries (a list replaces, so only these matter)."""
    if not isinstance(value, list):
        return None
    for i, item in enumerate(value):
        if isinstance(item, dict):
            for key in item:
                if key in OWNED_KEYS:
                    return (*path, i, key), f"{key} is part of the identity chain"
            found = _in_list(list(item.values()), (*path, i))
            if found:
                return found
    return None


def merge(target: MutableMapping[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 JSON merge patch of ``patch`` into ``target``, in place."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), MutableMapping):
            merge(target[key], value)
        elif isinstance(value, dict):
            fresh: dict[str, Any] = {}
            merge(fresh, value)
            target[key] = fresh
        else:
            import json

            target[key] = json.loads(json.dumps(value))  # a copy of plain data


def matches(patch: Patch, item: MutableMapping[str, Any]) -> bool:
    meta = item.get("metadata")
    meta = meta if isinstance(meta, MutableMapping) else {}
    labels = meta.get("labels")
    labels = labels if isinstance(labels, MutableMapping) else {}
    return (
        item.get("kind") == patch.kind
        and (patch.name is None or meta.get("name") == patch.name)
        and (patch.cluster is None or labels.get(CLUSTER_NAME_LABEL) == patch.cluster)
    )

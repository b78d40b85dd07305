"""The account's clusters in the base: a Cluster and what it references (its group), matched
by name to the clusters the account declares, or one template cloned and renamed per cluster;
a decommissioned cluster's group leaves the overlay."""

from __future__ import annotations

import copy
from collections.abc import MutableMapping, Sequence

from capa_accounts.core.model import OPERATOR, Account, Cluster
from capa_accounts.core.resources import (
    AWS_CLUSTER,
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROL_PLANE,
    INFRA_GROUP,
    ROLE_IDENTITY,
    WATCH_FILTER_LABEL,
    group_of,
)
from capa_accounts.kustomize_plugin import operator_mode
from capa_accounts.kustomize_plugin.items import (
    Item,
    as_mapping,
    assign,
    ensure_meta,
    ensure_spec,
    name_of,
    set_label,
)

# Annotations kustomize uses to match a function's output items back to its input
# (kyaml/kio/kioutil/kioutil.go). A cloned item is a new resource and must not carry them.
_ID_ANNOTATIONS = (
    "config.k8s.io/id",
    "internal.config.kubernetes.io/id",
    "kustomize.config.k8s.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
)


def _cluster_items(items: list[Item]) -> list[Item]:
    return [
        i
        for i in items
        if i.get("kind") == "Cluster" and group_of(i.get("apiVersion")) == CAPI_GROUP
    ]


def _group(items: list[Item], cluster: Item) -> list[int]:
    """Indexes of the items that make up one CAPI cluster: the Cluster and what it references."""
    name = name_of(cluster)
    spec = as_mapping(cluster.get("spec"))
    refs = {
        (str(r.get("kind")), str(r.get("name")))
        for r in (spec.get("infrastructureRef"), spec.get("controlPlaneRef"))
        if isinstance(r, MutableMapping)
    }
    members: list[int] = []
    for index, item in enumerate(items):
        spec_of = item.get("spec")
        item_spec = spec_of if isinstance(spec_of, MutableMapping) else {}
        labels = ensure_meta(item).get("labels") or {}
        if (
            item is cluster
            or (str(item.get("kind")), name_of(item)) in refs
            or (item.get("kind") == "MachinePool" and item_spec.get("clusterName") == name)
            or (isinstance(labels, MutableMapping) and labels.get(CLUSTER_NAME_LABEL) == name)
        ):
            members.append(index)
    for index in list(members):
        spec_of = as_mapping(items[index].get("spec"))
        template = as_mapping(as_mapping(spec_of.get("template")).get("spec"))
        ref = template.get("infrastructureRef")
        if isinstance(ref, MutableMapping):
            for j, item in enumerate(items):
                if j not in members and (item.get("kind"), name_of(item)) == (
                    ref.get("kind"),
                    ref.get("name"),
                ):
                    members.append(j)
    return sorted(members)


def instantiate(items: list[Item], account: Account) -> tuple[list[Item], str | None]:
    """Match the account's clusters to the base's, cloning a single template per cluster; or
    why the base cannot be matched."""
    clusters = _cluster_items(items)
    declared = {c.name: c for c in account.clusters}
    if not clusters:
        return items, None
    # Decommissioning: the cluster's objects leave the overlay, so Flux prunes them and CAPA
    # deletes the EKS cluster, while the account's identity and namespace stay for CAPA to do so.
    gone = [
        c
        for c in clusters
        if not declared or (len(clusters) > 1 and name_of(c) in account.decommissioned)
    ]
    if gone:
        dropped = {i for c in gone for i in _group(items, c)}
        items = [item for i, item in enumerate(items) if i not in dropped]
        clusters = _cluster_items(items)
        if not clusters:
            return items, None
    present = {name_of(c) for c in clusters}
    if present == set(declared):
        for cluster in clusters:
            group = [items[i] for i in _group(items, cluster)]
            _fill_cluster(group, declared[name_of(cluster)], account)
        return items, None
    if len(clusters) != 1:
        return items, (
            f"the base holds {len(clusters)} Clusters "
            f"({', '.join(sorted(present))}) but the account declares "
            f"{', '.join(declared)}: give the base one Cluster template, or "
            "the same names"
        )
    template = clusters[0]
    members = _group(items, template)
    # The template's own items are renamed in place (input order kept); the copies for further
    # clusters follow the template's last item.
    _rename([items[i] for i in members], name_of(template), account.clusters[0].name)
    _fill_cluster([items[i] for i in members], account.clusters[0], account)
    copies: list[Item] = []
    for further in account.clusters[1:]:
        group = [_clone(items[i]) for i in members]
        _rename(group, account.clusters[0].name, further.name)
        _fill_cluster(group, further, account)
        copies.extend(group)
    last = members[-1]
    return [*items[: last + 1], *copies, *items[last + 1 :]], None


def _clone(item: Item) -> Item:
    clone = copy.deepcopy(item)
    annotations = ensure_meta(clone).get("annotations")
    if isinstance(annotations, MutableMapping):
        for key in _ID_ANNOTATIONS:
            annotations.pop(key, None)
    return clone


def _renamed(name: str, old: str, new: str) -> str:
    if name == old:
        return new
    if name.startswith(old + "-"):
        return new + name[len(old) :]
    return f"{new}-{name}"


def _rename(group: list[Item], old: str, new: str) -> None:
    if old == new:
        return
    for item in group:
        meta = ensure_meta(item)
        assign(meta, "name", _renamed(name_of(item), old, new))
        spec = item.get("spec")
        if not isinstance(spec, MutableMapping):
            continue
        for key in ("infrastructureRef", "controlPlaneRef"):
            ref = spec.get(key)
            if isinstance(ref, MutableMapping) and ref.get("name"):
                assign(ref, "name", _renamed(str(ref["name"]), old, new))
        if item.get("kind") == "MachinePool":
            assign(spec, "clusterName", new)
            template = as_mapping(spec.get("template")).get("spec")
            if isinstance(template, MutableMapping):
                if "clusterName" in template:
                    assign(template, "clusterName", new)
                for key in ("infrastructureRef",):
                    ref = template.get(key)
                    if isinstance(ref, MutableMapping) and ref.get("name"):
                        assign(ref, "name", _renamed(str(ref["name"]), old, new))
                config_ref = as_mapping(template.get("bootstrap")).get("configRef")
                if isinstance(config_ref, MutableMapping) and config_ref.get("name"):
                    assign(config_ref, "name", _renamed(str(config_ref["name"]), old, new))


def _fill_cluster(group: list[Item], cluster: Cluster, account: Account) -> None:
    for item in group:
        set_label(item, CLUSTER_NAME_LABEL, cluster.name)
        if account.credentials == OPERATOR:  # the account's provider reconciles only these
            set_label(item, WATCH_FILTER_LABEL, account.name)
        if item.get("kind") == CONTROL_PLANE:
            spec = ensure_spec(item)
            assign(spec, "identityRef", _identity_ref(account))
            assign(spec, "eksClusterName", cluster.name)
            assign(spec, "region", cluster.region)
            assign(spec, "version", cluster.kubernetes_version)
        elif item.get("kind") == AWS_CLUSTER and group_of(item.get("apiVersion")) == INFRA_GROUP:
            # A self-managed cluster picks its credentials itself; left out, CAPA's webhook
            # defaults identityRef to `default` (api/v1beta2/defaults.go).
            spec = ensure_spec(item)
            assign(spec, "identityRef", _identity_ref(account))
            assign(spec, "region", cluster.region)


def _identity_ref(account: Account) -> dict[str, str]:
    """The identity an account's clusters use: its provider's in operator mode, else its own."""
    if account.credentials == OPERATOR:
        return operator_mode.identity_ref()
    return {"kind": ROLE_IDENTITY, "name": account.identity_name}


def rename_cluster(group: Sequence[Item], old: str, new: str) -> None:
    """Rename one cluster's objects and their references as the function does (``import``
    takes an account's cluster back to base/'s template name this way)."""
    _rename(list(group), old, new)


def cluster_members(items: Sequence[Item], cluster: Item) -> list[int]:
    """Indexes of the items that make up ``cluster`` (the Cluster and what it references)."""
    return _group(list(items), cluster)

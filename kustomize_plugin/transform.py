"""The transformation at the heart of the KRM function: base items + one Account → its items.

One function over mappings, shared by every path: ``render`` passes plain dicts, the ``fn``
path passes ruamel.yaml's round-trip maps (dict subclasses that keep comments). It fills only
the fields it owns and passes everything else through in order; it is deterministic and
idempotent (``transform(transform(x)) == transform(x)``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from capa_accounts.core import patches
from capa_accounts.core.finding import INPUT_ERROR, Finding, Location, ResourceRef
from capa_accounts.core.model import ACCOUNTS_FILE, OPERATOR, Account, Cluster
from capa_accounts.core.resources import (
    ACCOUNT_LABEL,
    AWS_CLUSTER,
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROL_PLANE,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    INFRA_GROUP,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    WATCH_FILTER_LABEL,
    group_of,
    is_cluster_scoped,
    is_identity,
)
from capa_accounts.kustomize_plugin import operator_mode

Item = MutableMapping[str, Any]
# Annotations kustomize uses to match a function's output items back to its input
# (kyaml/kio/kioutil/kioutil.go). A cloned item is a new resource and must not carry them.
_ID_ANNOTATIONS = (
    "config.k8s.io/id",
    "internal.config.kubernetes.io/id",
    "kustomize.config.k8s.io/id",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
)


# Where render reports a base problem: the function's refusals name no file of their own.
BASE = "base"
Locate = Callable[[patches.Path], Location]


def _refusal(message: str, item: Item | None = None) -> Finding:
    """A refusal of the base (render raises it for ``base``; the KRM function returns it in
    ``results``), about ``item`` when one object is at fault."""
    return Finding(INPUT_ERROR, "error", BASE, 1, 1, message, _ref(item) if item else None)


def _ref(item: Item) -> ResourceRef:
    meta = _mapping(item.get("metadata"))
    return ResourceRef(
        *(
            "" if value is None else str(value)
            for value in (
                item.get("apiVersion"),
                item.get("kind"),
                meta.get("name"),
                meta.get("namespace"),
            )
        )
    )


def _in_accounts_file(path: patches.Path) -> Location:
    return Location(ACCOUNTS_FILE)


@dataclass
class Outcome:
    items: list[Item]
    results: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.severity == "error" for r in self.results)


def _meta(item: Item) -> Item:
    meta = item.get("metadata")
    if not isinstance(meta, MutableMapping):
        meta = item["metadata"] = {}
    return meta


def _mapping(value: Any) -> Item:
    """``value`` when it is a mapping, else an empty one: base items are user input."""
    return value if isinstance(value, MutableMapping) else {}


def _spec(item: Item) -> Item:
    spec = item.get("spec")
    if not isinstance(spec, MutableMapping):
        spec = item["spec"] = {}
    return spec


def _set(mapping: Item, key: str, value: Any) -> None:
    """Assign only when different, so a round-trip map keeps its comments and key order."""
    if mapping.get(key) != value:
        mapping[key] = value


def _set_after(mapping: Item, key: str, value: Any, after: str) -> None:
    """Assign ``key`` right after ``after`` when it is new (``namespace`` beside ``name``)."""
    if key in mapping or after not in mapping:
        _set(mapping, key, value)
        return
    position = list(mapping).index(after) + 1
    insert = getattr(mapping, "insert", None)
    if insert is not None:  # ruamel.yaml's CommentedMap keeps comments this way
        insert(position, key, value)
        return
    tail = [(k, mapping.pop(k)) for k in list(mapping)[position:]]
    mapping[key] = value
    mapping.update(tail)


def _label(item: Item, key: str, value: str) -> None:
    meta = _meta(item)
    labels = meta.get("labels")
    if not isinstance(labels, MutableMapping):
        labels = meta["labels"] = {}
    _set(labels, key, value)


def _name(item: Item) -> str:
    return str(_meta(item).get("name") or "")


def transform(items: list[Item], account: Account, locate: Locate = _in_accounts_file) -> Outcome:
    """Fill one account's settings into base items; errors refuse unsafe input.

    In operator mode (``account.credentials``) the account's CAPA provider comes along and the
    role identity stays behind (``operator_mode``). ``locate`` places a path of accounts.yaml
    (a patch that matches nothing is reported there).
    """
    operator = account.credentials == OPERATOR
    results: list[Finding] = []
    for item in items:
        if not isinstance(item, MutableMapping):
            return Outcome(items, [_refusal("every item must be a mapping")])
        if group_of(item.get("apiVersion")) == INFRA_GROUP:
            if item.get("kind") == STATIC_IDENTITY:
                results.append(
                    _refusal(
                        "AWSClusterStaticIdentity in the base: long-lived keys are refused "
                        "(CAPA-I008); use the account's role identity",
                        item,
                    )
                )
            elif item.get("kind") == CONTROLLER_IDENTITY:
                results.append(
                    _refusal(
                        "AWSClusterControllerIdentity in the base: `default` is a singleton that "
                        "render writes once into overlays/management",
                        item,
                    )
                )
    roles = [i for i in items if is_identity(i) and i.get("kind") == ROLE_IDENTITY]
    if len(roles) != 1 and not (operator and not roles):
        results.append(
            _refusal(f"the base must hold exactly one AWSClusterRoleIdentity, found {len(roles)}")
        )
    namespaces = [
        i
        for i in items
        if i.get("apiVersion") == "v1"
        and i.get("kind") == "Namespace"
        and not (operator and operator_mode.is_provider_item(i, account))
    ]
    if len(namespaces) > 1:
        results.append(_refusal("the base may hold at most one Namespace (the account's)"))
    if operator:
        items, refused = operator_mode.account_items(items, account)
        results += [_refusal(refused)] if refused else []
    if results:
        return Outcome(items, results)
    items, group_results = _instantiate_clusters(items, account)
    if group_results:
        return Outcome(items, group_results)
    for item in items:
        if not (operator and operator_mode.is_provider_item(item, account)):
            _fill(item, account)
    unmatched = _apply_patches(items, account, locate)
    if unmatched:
        return Outcome(items, unmatched)
    return Outcome(operator_mode.with_provider(items, account) if operator else items, [])


def _apply_patches(items: list[Item], account: Account, locate: Locate) -> list[Finding]:
    """The account's and its clusters' ``patches`` (core/patches), after every field the
    function owns is filled: a patch that matches no object is an error, never ignored, at
    the patch in accounts.yaml."""
    results: list[Finding] = []
    for patch in account.patches:
        targets = [i for i in items if patches.matches(patch, i)]
        if not targets:
            at = locate(patch.at)
            message = f"{patch.describe()} matches no object of account {account.name!r}"
            results.append(Finding(INPUT_ERROR, "error", at.file, at.line, at.column, message))
        for item in targets:
            patches.merge(item, patch.patch)
    return results


def _fill(item: Item, account: Account) -> None:
    kind = item.get("kind")
    if not is_cluster_scoped(item.get("apiVersion"), kind):
        _set_after(_meta(item), "namespace", account.namespace, "name")
    if kind == "Namespace" and item.get("apiVersion") == "v1":
        _set(_meta(item), "name", account.namespace)
        _label(item, ACCOUNT_LABEL, account.name)
    elif kind == ROLE_IDENTITY and is_identity(item):
        _fill_role_identity(item, account)


def _fill_role_identity(item: Item, account: Account) -> None:
    meta = _meta(item)
    meta.pop("namespace", None)  # cluster-scoped (awsidentity_types.go:109)
    _set(meta, "name", account.identity_name)
    spec = _spec(item)
    _set(spec, "roleARN", account.role_arn)
    _set(spec, "sourceIdentityRef", {"kind": CONTROLLER_IDENTITY, "name": DEFAULT_IDENTITY})
    _set(spec, "allowedNamespaces", {"list": [account.namespace]})
    _set(spec, "sessionName", account.session_name)
    if account.external_id is not None:
        _set(spec, "externalID", account.external_id)
    if account.duration_seconds is not None:
        _set(spec, "durationSeconds", account.duration_seconds)


# --- clusters ---------------------------------------------------------------------------------


def _cluster_items(items: list[Item]) -> list[Item]:
    return [
        i
        for i in items
        if i.get("kind") == "Cluster" and group_of(i.get("apiVersion")) == CAPI_GROUP
    ]


def _group(items: list[Item], cluster: Item) -> list[int]:
    """Indexes of the items that make up one CAPI cluster: the Cluster and what it references."""
    name = _name(cluster)
    spec = _mapping(cluster.get("spec"))
    refs = {
        (str(r.get("kind")), str(r.get("name")))
        for r in (spec.get("infrastructureRef"), spec.get("controlPlaneRef"))
        if isinstance(r, MutableMapping)
    }
    members: list[int] = []
    for index, item in enumerate(items):
        spec_of = item.get("spec")
        item_spec = spec_of if isinstance(spec_of, MutableMapping) else {}
        labels = _meta(item).get("labels") or {}
        if (
            item is cluster
            or (str(item.get("kind")), _name(item)) in refs
            or (item.get("kind") == "MachinePool" and item_spec.get("clusterName") == name)
            or (isinstance(labels, MutableMapping) and labels.get(CLUSTER_NAME_LABEL) == name)
        ):
            members.append(index)
    for index in list(members):
        spec_of = _mapping(items[index].get("spec"))
        template = _mapping(_mapping(spec_of.get("template")).get("spec"))
        ref = template.get("infrastructureRef")
        if isinstance(ref, MutableMapping):
            for j, item in enumerate(items):
                if j not in members and (item.get("kind"), _name(item)) == (
                    ref.get("kind"),
                    ref.get("name"),
                ):
                    members.append(j)
    return sorted(members)


def _instantiate_clusters(items: list[Item], account: Account) -> tuple[list[Item], list[Finding]]:
    """Match the account's clusters to the base's, cloning a single template per cluster."""
    clusters = _cluster_items(items)
    declared = {c.name: c for c in account.clusters}
    if not clusters:
        return items, []
    # Decommissioning: the cluster's objects leave the overlay, so Flux prunes them and CAPA
    # deletes the EKS cluster, while the account's identity and namespace stay for CAPA to do so.
    gone = [
        c
        for c in clusters
        if not declared or (len(clusters) > 1 and _name(c) in account.decommissioned)
    ]
    if gone:
        dropped = {i for c in gone for i in _group(items, c)}
        items = [item for i, item in enumerate(items) if i not in dropped]
        clusters = _cluster_items(items)
        if not clusters:
            return items, []
    present = {_name(c) for c in clusters}
    if present == set(declared):
        for cluster in clusters:
            group = [items[i] for i in _group(items, cluster)]
            _fill_cluster(group, declared[_name(cluster)], account)
        return items, []
    if len(clusters) != 1:
        return items, [
            _refusal(
                f"the base holds {len(clusters)} Clusters "
                f"({', '.join(sorted(present))}) but the account declares "
                f"{', '.join(declared)}: give the base one Cluster template, or "
                "the same names"
            )
        ]
    template = clusters[0]
    members = _group(items, template)
    # The template's own items are renamed in place (input order kept); the copies for further
    # clusters follow the template's last item.
    _rename([items[i] for i in members], _name(template), account.clusters[0].name)
    _fill_cluster([items[i] for i in members], account.clusters[0], account)
    copies: list[Item] = []
    for further in account.clusters[1:]:
        group = [_clone(items[i]) for i in members]
        _rename(group, account.clusters[0].name, further.name)
        _fill_cluster(group, further, account)
        copies.extend(group)
    last = members[-1]
    return [*items[: last + 1], *copies, *items[last + 1 :]], []


def _clone(item: Item) -> Item:
    clone = copy.deepcopy(item)
    annotations = _meta(clone).get("annotations")
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
        meta = _meta(item)
        _set(meta, "name", _renamed(_name(item), old, new))
        spec = item.get("spec")
        if not isinstance(spec, MutableMapping):
            continue
        for key in ("infrastructureRef", "controlPlaneRef"):
            ref = spec.get(key)
            if isinstance(ref, MutableMapping) and ref.get("name"):
                _set(ref, "name", _renamed(str(ref["name"]), old, new))
        if item.get("kind") == "MachinePool":
            _set(spec, "clusterName", new)
            template = _mapping(spec.get("template")).get("spec")
            if isinstance(template, MutableMapping):
                if "clusterName" in template:
                    _set(template, "clusterName", new)
                for key in ("infrastructureRef",):
                    ref = template.get(key)
                    if isinstance(ref, MutableMapping) and ref.get("name"):
                        _set(ref, "name", _renamed(str(ref["name"]), old, new))
                config_ref = _mapping(template.get("bootstrap")).get("configRef")
                if isinstance(config_ref, MutableMapping) and config_ref.get("name"):
                    _set(config_ref, "name", _renamed(str(config_ref["name"]), old, new))


def _fill_cluster(group: list[Item], cluster: Cluster, account: Account) -> None:
    for item in group:
        _label(item, CLUSTER_NAME_LABEL, cluster.name)
        if account.credentials == OPERATOR:  # the account's provider reconciles only these
            _label(item, WATCH_FILTER_LABEL, account.name)
        if item.get("kind") == CONTROL_PLANE:
            spec = _spec(item)
            _set(
                spec,
                "identityRef",
                operator_mode.identity_ref()
                if account.credentials == OPERATOR
                else {"kind": ROLE_IDENTITY, "name": account.identity_name},
            )
            _set(spec, "eksClusterName", cluster.name)
            _set(spec, "region", cluster.region)
            _set(spec, "version", cluster.kubernetes_version)
        elif item.get("kind") == AWS_CLUSTER and group_of(item.get("apiVersion")) == INFRA_GROUP:
            # A self-managed cluster picks its credentials itself; left out, CAPA's webhook
            # defaults identityRef to `default` (api/v1beta2/defaults.go).
            spec = _spec(item)
            _set(
                spec,
                "identityRef",
                operator_mode.identity_ref()
                if account.credentials == OPERATOR
                else {"kind": ROLE_IDENTITY, "name": account.identity_name},
            )
            _set(spec, "region", cluster.region)


def rename_cluster(group: Sequence[Item], old: str, new: str) -> None:
    """Rename one cluster's objects and their references as the function does (``import``
    takes an account's cluster back to base/'s template name this way)."""
    _rename(list(group), old, new)


def cluster_members(items: Sequence[Item], cluster: Item) -> list[int]:
    """Indexes of the items that make up ``cluster`` (the Cluster and what it references)."""
    return _group(list(items), cluster)

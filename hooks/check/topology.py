"""Where each identityRef will be used: concrete objects, and what ClusterClass stamps out.

An ``IdentityUse`` is one identityRef CAPA will receive, the namespace the object that carries
it lives in, and where in the repository the value is written. A concrete kind
(``IDENTITY_USERS``) is one use. A template (``TEMPLATE_IDENTITY_USERS``) is cloned by Cluster
API's topology controller into the namespace of each Cluster whose ClusterClass references it
(cluster-api exp/topology/desiredstate/desired_state.go, templateToObject: ``Namespace:
in.cluster.Namespace``; the ClusterClass reads its templates from its own namespace,
core/reconcilers/topology/cluster/blueprint.go; a Cluster's class lives in
``classRef.namespace``/``classNamespace`` or its own, api/core/v1beta2/cluster_types.go
GetClassKey), after the class's inline patches are applied
(core/reconcilers/topology/cluster/patches/inline/json_patch_generator.go) with the Cluster's
variables, or the class's defaults (internal/topology/variables/cluster_variable_defaulting.go).
All cluster-api paths at commit ae7ff047.

CAPA's webhooks default a template's missing identityRef to the controller identity ``default``
when the template is stored (api/v1beta2/zz_generated.defaults.go
SetObjectDefaults_AWSClusterTemplate -> defaults.go SetDefaults_AWSClusterSpec;
controlplane/eks/webhooks/awsmanagedcontrolplanetemplate_webhook.go Default), which is why a
class can ``replace`` it. What a repository cannot tell (an external patch, a value template, an
``enabledIf`` beyond ``{{ .variable }}``, a variable no Cluster sets) is not judged.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capa_accounts.core.record import Record
from capa_accounts.core.resources import (
    CAPI_GROUP,
    CLUSTER_CLASS,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    TEMPLATE_IDENTITY_USERS,
    group_of,
)

if TYPE_CHECKING:
    from capa_accounts.hooks.check.context import Context, Obj, PathT

IDENTITY_REF = ("spec", "identityRef")
TEMPLATE_REF = ("spec", "template", "spec", "identityRef")
_UNKNOWN = object()  # the repository cannot tell what CAPA will receive
_STORED_DEFAULT = {"kind": CONTROLLER_IDENTITY, "name": DEFAULT_IDENTITY}


class IdentityUse(Record):
    """An object whose identityRef picks CAPA's credentials, and the namespace it needs them in."""

    FIELDS = ("obj", "path", "ref", "namespace", "kind", "subject", "missing_at", "templated")
    obj: Obj  # where the identityRef is written (or, absent, would be)
    path: PathT  # of the identityRef in ``obj``
    ref: Any  # what CAPA receives, None when absent (C001)
    namespace: str  # where the object CAPA reconciles lives
    kind: str  # that object's kind
    subject: str  # how a message names it
    missing_at: PathT  # where C001 points when ``ref`` is None
    templated: bool  # stamped out of a template: messages name the subject

    def __init__(
        self,
        obj: Obj,
        path: PathT,
        ref: Any,
        namespace: str,
        kind: str,
        subject: str,
        missing_at: PathT = (),
        templated: bool = False,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "obj", obj)
        set_(self, "path", path)
        set_(self, "ref", ref)
        set_(self, "namespace", namespace)
        set_(self, "kind", kind)
        set_(self, "subject", subject)
        set_(self, "missing_at", missing_at)
        set_(self, "templated", templated)


def _deepest(obj: Obj, path: PathT) -> PathT:
    while path and not obj.has(*path):
        path = path[:-1]
    return path


def concrete(obj: Obj) -> IdentityUse:
    return IdentityUse(
        obj,
        IDENTITY_REF,
        obj.get(*IDENTITY_REF),
        obj.namespace or "default",  # a namespaced object applied without one lands there
        obj.kind,
        f"{obj.kind} {obj.name!r}",
        ("spec",) if obj.has("spec") else (),
    )


# --- ClusterClass and Cluster, v1beta1 and v1beta2 --------------------------------------------


def _ref_of(value: Any) -> tuple[str, str, str] | None:
    if not isinstance(value, dict):
        return None
    api_version, kind, name = value.get("apiVersion"), value.get("kind"), value.get("name")
    if isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str):
        return group_of(api_version), kind, name
    return None


def _class_templates(cc: Obj) -> Iterator[tuple[str, tuple[str, str, str]]]:
    """(role, (group, kind, name)) of the infrastructure and control plane templates:
    ``ref`` in v1beta1, ``templateRef`` in v1beta2."""
    for role, section in (
        ("infrastructureCluster", "infrastructure"),
        ("controlPlane", "controlPlane"),
    ):
        for key in ("templateRef", "ref"):
            ref = _ref_of(cc.get("spec", section, key))
            if ref is not None:
                yield role, ref
                break


def _class_key(cluster: Obj) -> tuple[str, str] | None:
    """(namespace, name) of the ClusterClass a Cluster's topology names (GetClassKey)."""
    namespace = cluster.namespace or "default"
    topology = cluster.get("spec", "topology")
    if not isinstance(topology, dict):
        return None
    class_ref = topology.get("classRef")
    if isinstance(class_ref, dict) and isinstance(class_ref.get("name"), str):
        return str(class_ref.get("namespace") or namespace), class_ref["name"]
    name = topology.get("class")
    if isinstance(name, str) and name:
        return str(topology.get("classNamespace") or namespace), name
    return None


Origin = tuple["Obj", "PathT"]
Values = dict[str, tuple[Any, Origin]]
ClusterIndex = dict[tuple[str, str], list["Obj"]]


def _named_values(obj: Obj, path: PathT, key: str) -> Values:
    out: Values = {}
    items = obj.get(*path)
    for i, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and key in item:
            out[item["name"]] = (item[key], (obj, (*path, i, key)))
    return out


def _defaults(cc: Obj) -> Values:
    out: Values = {}
    items = cc.get("spec", "variables")
    for i, item in enumerate(items if isinstance(items, list) else ()):
        path = ("spec", "variables", i, "schema", "openAPIV3Schema", "default")
        if isinstance(item, dict) and isinstance(item.get("name"), str) and cc.has(*path):
            out[item["name"]] = (cc.get(*path), (cc, path))
    return out


def _variables(cc: Obj, cluster: Obj | None, role: str) -> Values:
    values = _defaults(cc)
    if cluster is not None:
        values.update(_named_values(cluster, ("spec", "topology", "variables"), "value"))
        if role == "controlPlane":  # variables.ControlPlane: overrides win for its templates
            path = ("spec", "topology", "controlPlane", "variables", "overrides")
            values.update(_named_values(cluster, path, "value"))
    return values


_ENABLED_IF = re.compile(r"^\{\{\s*\.([A-Za-z0-9_-]+)\s*\}\}$")


def _pointer(path: Any) -> tuple[str, ...] | None:
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/"))


def _descend(value: Any, origin: Origin, rest: tuple[str, ...]) -> tuple[Any, Origin]:
    obj, path = origin
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
        path = (*path, part)
    return value, (obj, path)


def _value(patch: dict[str, Any], at: PathT, cc: Obj, values: Values) -> tuple[Any, Origin]:
    """What one jsonPatch writes, and where that value is written in the repository."""
    if "value" in patch:
        return patch["value"], (cc, (*at, "value"))
    source = patch.get("valueFrom")
    variable = source.get("variable") if isinstance(source, dict) else None
    if not isinstance(variable, str) or "[" in variable:
        return _UNKNOWN, (cc, at)
    name, *rest = variable.split(".")
    if name not in values:
        return _UNKNOWN, (cc, at)  # unset: CAPI fails the patch, nothing is created
    value, origin = values[name]
    return _descend(value, origin, tuple(rest))


def _apply(
    state: tuple[Any, Origin], patch: Any, at: PathT, cc: Obj, values: Values
) -> tuple[Any, Origin]:
    target = _pointer(patch.get("path")) if isinstance(patch, dict) else None
    if target is None or state[0] is _UNKNOWN:
        return state
    n = min(len(target), len(TEMPLATE_REF))
    if target[:n] != TEMPLATE_REF[:n]:
        return state  # another field
    if patch.get("op") == "remove":
        return (None, (cc, at)) if len(target) <= len(TEMPLATE_REF) else state
    if patch.get("op") not in ("add", "replace"):
        return state
    value, origin = _value(patch, at, cc, values)
    if value is _UNKNOWN:
        return _UNKNOWN, origin
    if len(target) <= len(TEMPLATE_REF):  # the identityRef or a parent of it
        return _descend(value, origin, TEMPLATE_REF[len(target) :])
    # One key of the identityRef: of the stored template's, which CAPA has defaulted.
    ref = dict(state[0]) if isinstance(state[0], dict) else dict(_STORED_DEFAULT)
    ref[target[len(TEMPLATE_REF)]] = value
    return ref, origin


def _patched(
    state: tuple[Any, Origin], cc: Obj, template: Obj, role: str, values: Values
) -> tuple[Any, Origin]:
    patches = cc.get("spec", "patches")
    for i, patch in enumerate(patches if isinstance(patches, list) else ()):
        if not isinstance(patch, dict):
            continue
        if patch.get("external") is not None:
            return _UNKNOWN, state[1]  # a runtime extension may set anything
        enabled = patch.get("enabledIf")
        if enabled:
            match = _ENABLED_IF.match(str(enabled).strip())
            if match is None or match.group(1) not in values:
                return _UNKNOWN, state[1]
            if values[match.group(1)][0] is not True:
                continue
        definitions = patch.get("definitions")
        for j, definition in enumerate(definitions if isinstance(definitions, list) else ()):
            if not _selects(definition, template, role):
                continue
            json_patches = definition.get("jsonPatches")
            for k, json_patch in enumerate(json_patches if isinstance(json_patches, list) else ()):
                at = ("spec", "patches", i, "definitions", j, "jsonPatches", k)
                state = _apply(state, json_patch, at, cc, values)
    return state


def _selects(definition: Any, template: Obj, role: str) -> bool:
    selector = definition.get("selector") if isinstance(definition, dict) else None
    if not isinstance(selector, dict):
        return False
    match = selector.get("matchResources")
    return (
        selector.get("apiVersion") == template.data.get("apiVersion")
        and selector.get("kind") == template.kind
        and isinstance(match, dict)
        and match.get(role) is True
    )


# --- uses of one template ---------------------------------------------------------------------


def _template_uses(
    ctx: Context, clusters_by_class: ClusterIndex, template: Obj, concrete_kind: str
) -> Iterator[IdentityUse]:
    own = template.get(*TEMPLATE_REF)
    start: tuple[Any, Origin] = (own, (template, TEMPLATE_REF))
    missing_at = _deepest(template, TEMPLATE_REF[:-1])
    namespace = template.namespace or "default"
    name = f"{template.kind} {template.name!r}"
    # (location, namespace) -> (ref, cluster names); a location shared by Clusters is one use.
    found: dict[tuple[int, PathT, str], tuple[Obj, Any, list[str]]] = {}
    judged_alone = True
    for cc, role in _classes_of(ctx, template):
        judged_alone = False
        # No Cluster in the repository: the class's own defaults, judged in its namespace.
        of_class: list[Obj | None] = [*clusters_by_class.get((namespace, cc.name), [])]
        for cluster in of_class or [None]:
            ref, (obj, path) = _patched(start, cc, template, role, _variables(cc, cluster, role))
            if ref is _UNKNOWN:
                continue
            where_ns = (cluster.namespace or "default") if cluster else namespace
            entry = found.setdefault((id(obj), path, where_ns), (obj, ref, []))
            if cluster is not None:
                entry[2].append(cluster.name)
    if judged_alone:
        found[(id(template), TEMPLATE_REF, namespace)] = (template, own, [])
    for (_, path, where_ns), (obj, ref, clusters) in found.items():
        listed = ", ".join(repr(c) for c in sorted(clusters))
        plural = "s" if len(clusters) > 1 else ""
        if obj is template:
            subject = name
            if clusters:
                subject += f" (for Cluster{plural} {listed} in namespace {where_ns!r})"
            yield IdentityUse(obj, path, ref, where_ns, concrete_kind, subject, missing_at, True)
        else:
            who = f"Cluster{plural} {listed} get" if clusters else "every Cluster of its class gets"
            if len(clusters) == 1:
                who += "s"
            subject = f"the {concrete_kind} that {who} from {name}"
            yield IdentityUse(obj, path, ref, where_ns, concrete_kind, subject, path, True)


def _classes_of(ctx: Context, template: Obj) -> Iterator[tuple[Obj, str]]:
    for cc in ctx.applied(CLUSTER_CLASS, CAPI_GROUP):
        if (cc.namespace or "default") != (template.namespace or "default"):
            continue
        for role, (group, kind, name) in _class_templates(cc):
            if (group, kind, name) == (template.id.group, template.kind, template.name):
                yield cc, role


def cluster_index(ctx: Context) -> ClusterIndex:
    """Clusters with a topology by the (namespace, name) of their ClusterClass."""
    out: ClusterIndex = defaultdict(list)
    for cluster in ctx.applied("Cluster", CAPI_GROUP):
        key = _class_key(cluster)
        if key is not None:
            out[key].append(cluster)
    return out


def identity_uses(ctx: Context) -> list[IdentityUse]:
    """Every identityRef CAPA will receive from this repository, found once per check run."""
    return ctx.memo("identity_uses", lambda: _identity_uses(ctx))


def _identity_uses(ctx: Context) -> list[IdentityUse]:
    uses = [concrete(obj) for obj in ctx.identity_users()]
    index = cluster_index(ctx)
    for group, kind, concrete_kind in TEMPLATE_IDENTITY_USERS:
        for template in ctx.applied(kind, group):
            uses.extend(_template_uses(ctx, index, template, concrete_kind))
    return uses

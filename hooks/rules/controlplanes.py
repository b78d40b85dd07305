"""Control planes (CAPA-C001 … C007): which credentials an ``AWSManagedControlPlane`` uses, where.

This module owns the question "will CAPA reconcile this EKS cluster with the right account's
credentials, in the region and version the account declares?": the ``identityRef`` and the
identity chain behind it, seen from the control plane's namespace, and the Cluster's objects
staying together in one namespace.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from typing import Any

from hooks.context import Context, Obj, PathT
from hooks.finding import Location
from hooks.rules import Reporter, rule
from hooks.rules.identities import verdict
from kustomize_plugin.model import OPERATOR, Account, Cluster
from kustomize_plugin.resources import (
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    IDENTITY_KINDS,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    ResourceId,
    group_of,
)

IDENTITY_REF = ("spec", "identityRef")
# spec.version: controlplane/eks/api/v1beta2/awsmanagedcontrolplane_types.go:70-73
VERSION_PATTERN = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.?(\.0|[1-9][0-9]*)?$")
# The API server labels every Namespace with its own name (NamespaceDefaultLabelName, GA in
# Kubernetes 1.22), so a selector may match it although the manifest does not carry it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _operator_mode(ctx: Context) -> bool:
    return ctx.account_set is not None and ctx.account_set.credentials == OPERATOR


def _identity_ref(ref: Any) -> tuple[str, str] | None:
    """(kind, name) of an identityRef or sourceIdentityRef; a malformed one is R004's."""
    if not isinstance(ref, dict) or ref.get("kind") not in IDENTITY_KINDS:
        return None
    name = ref.get("name")
    return (str(ref["kind"]), name) if isinstance(name, str) and name else None


def _where(obj: Obj, path: PathT = ()) -> str:
    loc = obj.location(path)
    return f"{loc.file}:{loc.line}"


def namespace_of(obj: Obj) -> str:
    # A namespaced object applied without a namespace lands in `default`.
    return obj.namespace or "default"


@rule("CAPA-C001")
def check_missing_identity_ref(ctx: Context, report: Reporter) -> None:
    """An AWSManagedControlPlane has no identityRef: CAPA then uses the management account.

    Why: CAPA's mutating webhook sets a missing identityRef to
    `{kind: AWSClusterControllerIdentity, name: default}` (controlplane/eks/webhooks/
    awsmanagedcontrolplane_webhook.go:673-678): the controller's own credentials, so the EKS
    cluster is built in the management account. Once set it can never be removed again
    (webhook:181-187). A misspelt key (`identityref:`) is dropped by the API server and has the
    same effect. Not checked in operator mode, where `default` is each provider's own account.

    Bad:
        kind: AWSManagedControlPlane
        spec:
          region: eu-west-1

    Good:
        kind: AWSManagedControlPlane
        spec:
          identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
          region: eu-west-1

    Fix: set identityRef to the account's role identity (render does this from accounts.yaml).
    """
    if _operator_mode(ctx):
        return
    for cp in ctx.control_planes():
        if cp.get(*IDENTITY_REF) is None:
            path: PathT = ("spec",) if cp.has("spec") else ()
            report.at(cp, path, f"AWSManagedControlPlane {cp.name!r} has no identityRef: CAPA "
                      "defaults it to the controller identity `default`, the management "
                      "account's own credentials", at_key=bool(path))


@rule("CAPA-C002")
def check_dangling_identity_ref(ctx: Context, report: Reporter) -> None:
    """identityRef names an identity that does not exist in the rendered set.

    Why: CAPA looks the identity up by kind and name and fails reconciliation until it exists
    (pkg/cloud/scope/session.go:273-289); a typo leaves the cluster unreconciled. Identities
    are cluster-scoped, so the name must match exactly, whatever the namespace.

    Bad:
        identityRef: {kind: AWSClusterRoleIdentity, name: stagin-identity}

    Good:
        identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}

    Fix: name an identity the repository applies (`<account>-identity` by default), or add it.
    """
    names: dict[str, list[str]] = defaultdict(list)
    for ident in ctx.identities():
        names[ident.kind].append(ident.name)
    for cp in ctx.control_planes():
        ref = _identity_ref(cp.get(*IDENTITY_REF))
        if ref is None or ctx.identity(*ref) is not None:
            continue
        kind, name = ref
        close = difflib.get_close_matches(name, names[kind], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        report.at(cp, (*IDENTITY_REF, "name"), f"identityRef names {kind} {name!r}, which the "
                  f"repository does not apply{hint}: CAPA cannot reconcile this control plane")


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics: matchLabels and every expression, all ANDed."""
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            return False
        key, op = str(expr.get("key")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        present = key in labels
        if not ((op == "In" and present and labels[key] in values)
                or (op == "NotIn" and (not present or labels[key] not in values))
                or (op == "Exists" and present) or (op == "DoesNotExist" and not present)):
            return False
    return True


def admits(ctx: Context, allowed: Any, namespace: str) -> bool:
    """Whether ``allowedNamespaces`` admits ``namespace``, as CAPA decides (session.go:389-429).

    After ``verdict`` (nil, zero struct, empty): the list, then a non-empty selector against
    the Namespace's labels. CAPA reads those from the cluster; a Namespace the repository does
    not hold cannot be shown to match, so it counts as not admitted.
    """
    judged = verdict(allowed)
    if judged != "some":
        return judged == "all"
    if namespace in (allowed.get("list") or ()):
        return True
    selector = allowed.get("selector") or {}
    found = ctx.by_id.get(ResourceId("", "Namespace", "", namespace))
    if not (selector.get("matchLabels") or selector.get("matchExpressions")) or not found:
        return False
    labels = found[0].get("metadata", "labels")
    labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    labels.setdefault(NAMESPACE_NAME_LABEL, namespace)
    return _selector_matches(selector, labels)


@rule("CAPA-C003")
def check_chain_admits_namespace(ctx: Context, report: Reporter) -> None:
    """An identity on the control plane's chain does not admit the control plane's namespace.

    Why: CAPA checks every hop of the chain (identityRef, then each sourceIdentityRef, the
    controller identity `default` included) against the Cluster's namespace and refuses with
    "Namespace is not permitted to use <Kind>: <name>" (pkg/cloud/scope/session.go:263,367,
    389-429). An absent allowedNamespaces, `list: []` and `selector: {matchLabels: {}}` admit
    nothing; a selector needs the Namespace's labels.

    Bad:
        kind: AWSClusterControllerIdentity   # source of staging-identity
        spec:
          allowedNamespaces: {list: [live]}  # the staging control plane is refused

    Good:
        spec:
          allowedNamespaces: {list: [live, staging]}

    Fix: add the namespace to allowedNamespaces.list of the identity named in the message
    (render keeps `default`'s list equal to the account namespaces).
    """
    for cp in ctx.control_planes():
        ref = _identity_ref(cp.get(*IDENTITY_REF))
        namespace = namespace_of(cp)
        seen: set[tuple[str, str]] = set()
        via = "identityRef"
        while ref is not None and ref not in seen:
            seen.add(ref)
            ident = ctx.identity(*ref)
            if ident is None:
                break  # dangling: C002 for identityRef, I007 for a sourceIdentityRef
            allowed = ident.get("spec", "allowedNamespaces")
            if not admits(ctx, allowed, namespace):
                path = ("spec", "allowedNamespaces")
                report.at(cp, (*IDENTITY_REF, "name"),
                          f"{ident.kind} {ident.name!r} (reached through {via}, "
                          f"{_where(ident, path)}) does not admit namespace {namespace!r}: CAPA "
                          f"refuses with \"Namespace is not permitted to use {ident.kind}: "
                          f"{ident.name}\"", related=(ident.location(path),))
            source = ident.get("spec", "sourceIdentityRef")
            ref = _identity_ref(source) if ident.kind == ROLE_IDENTITY else None
            via = f"sourceIdentityRef of {ident.name!r}"


@rule("CAPA-C004")
def check_identity_ref_kind(ctx: Context, report: Reporter) -> None:
    """identityRef points at the controller identity or a static identity.

    Why: the controller identity `default` is CAPA's own credentials, the management account's
    (session.go:242-249): the cluster would be built there, and `default` must admit every
    account namespace, so any account could reach the management account this way. A static
    identity means long-lived access keys in a Secret (pkg/cloud/identity/identity.go:51-53).
    Not checked in operator mode, where each provider's `default` is its own account.

    Bad:
        identityRef: {kind: AWSClusterControllerIdentity, name: default}

    Good:
        identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}

    Fix: point identityRef at the account's AWSClusterRoleIdentity.
    """
    if _operator_mode(ctx):
        return
    why = {CONTROLLER_IDENTITY: "the controller's own credentials, i.e. the management account",
           STATIC_IDENTITY: "long-lived access keys stored in a Secret"}
    for cp in ctx.control_planes():
        kind = cp.get(*IDENTITY_REF, "kind")
        if kind in why:
            report.at(cp, (*IDENTITY_REF, "kind"), f"identityRef uses {kind}: {why[kind]}; use "
                      "the account's AWSClusterRoleIdentity")


def _clusters_by_control_plane(ctx: Context) -> dict[tuple[str, str], str]:
    """(namespace, control plane name) → name of the Cluster whose controlPlaneRef names it."""
    out: dict[tuple[str, str], str] = {}
    for cluster in ctx.applied("Cluster", CAPI_GROUP):
        ref = cluster.get("spec", "controlPlaneRef")
        if isinstance(ref, dict) and ref.get("name"):
            out.setdefault((cluster.namespace, str(ref["name"])), cluster.name)
    return out


def _declared(ctx: Context, cp: Obj, clusters: dict[tuple[str, str], str],
              key: str) -> tuple[Account, str, Location, str] | None:
    """(account, cluster name, accounts.yaml location, declared value) of ``key`` for ``cp``.

    ``key`` is ``region`` or ``kubernetesVersion``; a cluster's own value overrides the
    account's. A cluster that accounts.yaml does not list gets the account's value.
    """
    account = ctx.account_of(cp)
    if ctx.account_set is None or account is None:
        return None
    label = cp.get("metadata", "labels", CLUSTER_NAME_LABEL)
    name = str(label) if label else clusters.get((cp.namespace, cp.name), account.name)
    index = next((i for i, c in enumerate(account.clusters) if c.name == name), None)
    declared: Account | Cluster = account if index is None else account.clusters[index]
    value = declared.region if key == "region" else declared.kubernetes_version
    doc = ctx.account_set.document
    raw = doc.data["spec"]["accounts"][account.index] if doc else {}
    listed = raw.get("clusters") if isinstance(raw, dict) else None
    own = listed[index] if index is not None and isinstance(listed, list) else None
    path: PathT = ("spec", "accounts", account.index, key)
    if isinstance(own, dict) and key in own and index is not None:
        path = ("spec", "accounts", account.index, "clusters", index, key)
    return account, name, ctx.config_location(path), value


@rule("CAPA-C005")
def check_region(ctx: Context, report: Reporter) -> None:
    """The control plane's region differs from the region declared for its cluster.

    Why: CAPA creates the EKS cluster in spec.region with the account's credentials; the field
    is immutable (controlplane/eks/webhooks/awsmanagedcontrolplane_webhook.go:157-161), so a
    wrong region means deleting and recreating the cluster later. accounts.yaml is the source
    of truth (a cluster's `region` overrides its account's).

    Bad:
        region: us-east-1   # accounts.yaml declares eu-west-1 for this cluster

    Good:
        region: eu-west-1

    Fix: change the region in accounts.yaml if that is what you meant, then run
    `capa-accounts render`; never edit the rendered overlay by hand.
    """
    clusters = _clusters_by_control_plane(ctx)
    for cp in ctx.control_planes():
        declared = _declared(ctx, cp, clusters, "region")
        if declared is None:
            continue
        account, cluster, where, region = declared
        value = cp.get("spec", "region")
        if value == region:
            continue
        what = f"region {value!r}" if value else "no region"
        report.at(cp, ("spec", "region") if value else ("spec",),
                  f"control plane has {what}, but accounts.yaml declares {region!r} for cluster "
                  f"{cluster!r} of account {account.name!r} ({where.file}:{where.line})",
                  at_key=not value, related=(where,))


def _minor(version: str) -> tuple[str, str] | None:
    match = VERSION_PATTERN.fullmatch(version)
    return (match.group(1), match.group(2)) if match else None


@rule("CAPA-C006")
def check_version(ctx: Context, report: Reporter) -> None:
    """version does not match the CRD pattern, or differs from its cluster's kubernetesVersion.

    Why: the API server rejects a version outside
    `^v?(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.?(\\.0|[1-9][0-9]*)?$` (controlplane/eks/api/
    v1beta2/awsmanagedcontrolplane_types.go:70-73), so `1.31.0-eks-1` or an unquoted `1.30`
    (the number 1.3) fails the whole Flux sync. Only major.minor is sent to EKS
    (pkg/cloud/services/eks/cluster.go:759-769), and it must be the one accounts.yaml declares.

    Bad:
        version: v1.31.0-eks-1

    Good:
        version: "1.31"

    Fix: set kubernetesVersion (quoted) in accounts.yaml and run `capa-accounts render`.
    """
    clusters = _clusters_by_control_plane(ctx)
    for cp in ctx.control_planes():
        value = cp.get("spec", "version")
        if value is not None and not isinstance(value, str):
            report.at(cp, ("spec", "version"), f"version {value!r} is not a string: quote it "
                      "(YAML reads 1.30 as the number 1.3)")
            continue
        if value is not None and _minor(value) is None:
            report.at(cp, ("spec", "version"), f"version {value!r} does not match the CRD "
                      "pattern (major.minor[.patch], optional leading v)")
            continue
        declared = _declared(ctx, cp, clusters, "kubernetesVersion")
        if declared is None:
            continue
        account, cluster, where, version = declared
        want = _minor(version)
        if value is not None and want is not None and _minor(value) == want:
            continue
        what = f"version {value!r}" if value else "no version (EKS picks its default)"
        report.at(cp, ("spec", "version") if value else ("spec",),
                  f"control plane has {what}, but accounts.yaml declares kubernetesVersion "
                  f"{version!r} for cluster {cluster!r} of account {account.name!r} "
                  f"({where.file}:{where.line})", at_key=not value, related=(where,))


def _ref_target(ref: Any) -> tuple[str | None, str, str, str | None] | None:
    """(group or None, kind, name, namespace or None) of a v1beta1 or v1beta2 reference."""
    if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
        return None
    group = ref.get("apiGroup") or (group_of(ref["apiVersion"]) if ref.get("apiVersion") else None)
    namespace = ref.get("namespace")
    return group, str(ref["kind"]), str(ref["name"]), str(namespace) if namespace else None


@rule("CAPA-C007")
def check_cluster_namespaces(ctx: Context, report: Reporter) -> None:
    """A Cluster's objects span namespaces, or a controlPlaneRef/infrastructureRef dangles.

    Why: Cluster API resolves a Cluster's infrastructureRef and controlPlaneRef, a
    MachinePool's clusterName and its template's infrastructureRef in the object's own
    namespace; CAPA then checks identities against that namespace (session.go:263). An object
    in another namespace is never found, so the cluster never becomes ready, and the
    namespace-based isolation of accounts no longer holds.

    Bad:
        kind: Cluster
        metadata: {name: staging, namespace: staging}
        spec:
          controlPlaneRef: {kind: AWSManagedControlPlane, name: staging-control-plane}
        ---
        kind: AWSManagedControlPlane
        metadata: {name: staging-control-plane, namespace: live}

    Good:
        kind: AWSManagedControlPlane
        metadata: {name: staging-control-plane, namespace: staging}

    Fix: put every object of a cluster in its account's namespace (render does), and make each
    reference name an object the repository applies.
    """
    by_name: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for obj in ctx.objects:
        by_name[(obj.kind, obj.name)].append(obj)

    def resolve(holder: Obj, path: PathT, what: str) -> None:
        target = _ref_target(holder.get(*path))
        if target is None:
            return
        group, kind, name, ref_ns = target
        home = namespace_of(holder)
        candidates = [o for o in by_name[(kind, name)] if group is None or o.id.group == group]
        if ref_ns is not None and ref_ns != home:
            report.at(holder, (*path, "namespace"), f"{what} names namespace {ref_ns!r}, but "
                      f"{holder.kind} {holder.name!r} is in {home!r}: a Cluster's objects "
                      "must share one namespace")
            return
        if any(namespace_of(o) == home for o in candidates):
            return
        if candidates:
            other = candidates[0]
            meta: PathT = ("metadata", "namespace") if other.namespace else ("metadata", "name")
            report.at(other, meta, f"{kind} {name!r} is in namespace {namespace_of(other)!r}, "
                      f"but {holder.kind} {holder.name!r} ({_where(holder, path)}) refers to it "
                      f"from {home!r}: a Cluster's objects must share one namespace",
                      related=(holder.location((*path, "name")),))
        else:
            report.at(holder, (*path, "name"), f"{what} names {kind} {name!r}, which the "
                      f"repository does not apply in namespace {home!r}")

    clusters: dict[tuple[str, str], Obj] = {}
    for cluster in ctx.applied("Cluster", CAPI_GROUP):
        clusters.setdefault((namespace_of(cluster), cluster.name), cluster)
        for key in ("infrastructureRef", "controlPlaneRef"):
            resolve(cluster, ("spec", key), key)
    for pool in ctx.applied("MachinePool", CAPI_GROUP):
        cluster_name = pool.get("spec", "clusterName")
        if not isinstance(cluster_name, str) or not cluster_name:
            continue
        if (namespace_of(pool), cluster_name) not in clusters:
            elsewhere = [o for o in by_name[("Cluster", cluster_name)] if o.id.group == CAPI_GROUP]
            if elsewhere:
                path: PathT = ("metadata", "namespace") if pool.namespace else ("metadata", "name")
                report.at(pool, path, f"MachinePool {pool.name!r} is in namespace "
                          f"{namespace_of(pool)!r}, but its Cluster {cluster_name!r} is in "
                          f"{namespace_of(elsewhere[0])!r} "
                          f"({_where(elsewhere[0], ('metadata', 'namespace'))}): a "
                          "Cluster's objects must share one namespace",
                          related=(elsewhere[0].location(("metadata", "namespace")),))
            continue
        resolve(pool, ("spec", "template", "spec", "infrastructureRef"), "infrastructureRef")

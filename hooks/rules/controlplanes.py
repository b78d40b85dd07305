"""Control planes (CAPA-C001 … C004): which credentials a cluster object uses, and where.

This module owns the question "will CAPA reconcile this cluster with the right account's
credentials?": the ``identityRef`` of every object that carries one (``AWSManagedControlPlane``,
the self-managed ``AWSCluster``, the ROSA kinds: ``IDENTITY_USERS``), of the templates
ClusterClass stamps them out of, and the identity chain behind it, seen from the namespace the
object lives in (``hooks/check/topology.py`` says where each identityRef is used).
"""

from __future__ import annotations

from typing import Any

from capa_accounts.core.resources import (
    CONTROLLER_IDENTITY,
    DEFAULTED_IDENTITY_REF,
    IDENTITY_KINDS,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    ResourceId,
)
from capa_accounts.core.suggest import close as _close
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.check.topology import IdentityUse, identity_uses
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.identities import verdict
from capa_accounts.hooks.rules.operator import operator_mode as _operator_mode

IDENTITY_REF = ("spec", "identityRef")
# The API server labels every Namespace with its own name (NamespaceDefaultLabelName, GA in
# Kubernetes 1.22), so a selector may match it although the manifest does not carry it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _identity_ref(ref: Any) -> tuple[str, str] | None:
    """(kind, name) of an identityRef or sourceIdentityRef; a malformed one is R004's."""
    if not isinstance(ref, dict) or ref.get("kind") not in IDENTITY_KINDS:
        return None
    name = ref.get("name")
    return (str(ref["kind"]), name) if isinstance(name, str) and name else None


def _key_path(use: IdentityUse, key: str) -> PathT:
    """Where ``key`` of a use's identityRef is written (the whole value when it is not)."""
    return (*use.path, key) if use.obj.has(*use.path, key) else use.path


def _for(use: IdentityUse) -> str:
    return f" ({use.subject})" if use.templated else ""


def _name_path(use: IdentityUse) -> PathT:
    return _key_path(use, "name")


def management_namespace(ctx: Context, namespace: str) -> bool:
    """Whether ``namespace`` holds the management account's own clusters
    (accounts.yaml management.namespaces), where `default` is used on purpose."""
    if ctx.account_set is None:
        return False
    return namespace in ctx.account_set.management.namespaces


def where(obj: Obj, path: PathT = ()) -> str:
    loc = obj.location(path)
    return f"{loc.file}:{loc.line}"


def namespace_of(obj: Obj) -> str:
    # A namespaced object applied without a namespace lands in `default`.
    return obj.namespace or "default"


@rule("CAPA-C001", name="MissingIdentityRef")
def check_missing_identity_ref(ctx: Context, report: Reporter) -> None:
    """An object that picks CAPA's credentials has no identityRef: CAPA uses the management account.

    Why: CAPA's webhooks set a missing identityRef of an `AWSManagedControlPlane` or an
    `AWSCluster` to `{kind: AWSClusterControllerIdentity, name: default}` (controlplane/eks/
    webhooks/awsmanagedcontrolplane_webhook.go:673-678; api/v1beta2/defaults.go
    SetDefaults_AWSClusterSpec, from awscluster_webhook.go): the controller's own credentials,
    so the cluster is built in the management account. Once set it can never be removed again
    (webhook:181-187). The ROSA kinds that carry one (`ROSAControlPlane`, `ROSANetwork`,
    `ROSARoleConfig`) are not defaulted, and a nil identityRef builds no credentials provider
    at all (pkg/cloud/scope/session.go, buildProvidersForRef): the controller's own
    credentials, without even `default`'s allowedNamespaces check. A misspelt key
    (`identityref:`) is dropped by the API server and has the same effect. The templates are
    defaulted alike (`AWSClusterTemplate`: api/v1beta2/zz_generated.defaults.go;
    `AWSManagedControlPlaneTemplate`: controlplane/eks/webhooks/
    awsmanagedcontrolplanetemplate_webhook.go Default), so a ClusterClass whose template has
    none, and whose patches set none, builds every Cluster in the management account. Not
    checked in operator mode, where `default` is each provider's own account, nor in the
    management account's own namespaces (accounts.yaml `management.namespaces`).

    Bad:
        kind: AWSCluster
        spec:
          region: eu-west-1

    Good:
        kind: AWSCluster
        spec:
          identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}
          region: eu-west-1

    Fix: set identityRef to the account's role identity (render does this from accounts.yaml);
    on a template, at `spec.template.spec.identityRef`, or with a ClusterClass patch and a
    Cluster variable.
    """
    if _operator_mode(ctx):
        return
    for use in identity_uses(ctx):
        if use.ref is None and not management_namespace(ctx, use.namespace):
            how = (
                "CAPA defaults it to the controller identity `default`"
                if use.kind in DEFAULTED_IDENTITY_REF
                else "CAPA then uses the controller's own credentials"
            )
            report.at(
                use.obj,
                use.missing_at,
                f"{use.subject} has no identityRef: {how}, the "
                "management account's own credentials",
                at_key=bool(use.missing_at),
            )


@rule("CAPA-C002", name="DanglingIdentityRef")
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
    The did-you-mean names only an identity that admits the object's namespace: the closest
    name may be another account's identity (`team-0907-identity` for `team-0007-identity`),
    which CAPA would refuse there, and which must not be used there.
    """
    for use in identity_uses(ctx):
        ref = _identity_ref(use.ref)
        if ref is None or ctx.identity(*ref) is not None:
            continue
        kind, name = ref
        admitting = [
            i.name
            for i in ctx.identities(kind)
            if admits(ctx, i.get("spec", "allowedNamespaces"), use.namespace)
        ]
        close = _close(name, admitting, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        report.unseen(
            use.obj,
            _name_path(use),
            f"identityRef names {kind} {name!r}, which {ctx.whole} does not "
            f"apply{hint}: CAPA cannot reconcile "
            + (use.subject if use.templated else f"this {use.kind}"),
        )


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
        if not (
            (op == "In" and present and labels[key] in values)
            or (op == "NotIn" and (not present or labels[key] not in values))
            or (op == "Exists" and present)
            or (op == "DoesNotExist" and not present)
        ):
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
    listed = allowed.get("list") or ()
    if namespace in (_as_set(ctx, listed) if isinstance(listed, list) else listed):
        return True
    selector = allowed.get("selector") or {}
    found = ctx.by_id.get(ResourceId("", "Namespace", "", namespace))
    if not (selector.get("matchLabels") or selector.get("matchExpressions")) or not found:
        return False
    labels = found[0].get("metadata", "labels")
    labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    labels.setdefault(NAMESPACE_NAME_LABEL, namespace)
    return _selector_matches(selector, labels)


def _as_set(ctx: Context, listed: list[Any]) -> frozenset[str]:
    """The names of an ``allowedNamespaces.list``, as a set made once per list: `default`
    lists every account namespace, and every control plane's chain ends there (a list search
    per control plane made C003 quadratic in the fleet)."""
    sets: dict[int, tuple[list[Any], frozenset[str]]] = ctx.memo("allowed-lists", dict)
    kept = sets.get(id(listed))
    if kept is None or kept[0] is not listed:
        kept = sets[id(listed)] = (listed, frozenset(n for n in listed if isinstance(n, str)))
    return kept[1]


@rule("CAPA-C003", name="IdentityDoesNotAdmitNamespace")
def check_chain_admits_namespace(ctx: Context, report: Reporter) -> None:
    """An identity on an object's identityRef chain does not admit the object's namespace.

    Why: CAPA checks every hop of the chain (identityRef, then each sourceIdentityRef, the
    controller identity `default` included) against the Cluster's namespace and refuses with
    "Namespace is not permitted to use <Kind>: <name>" (pkg/cloud/scope/session.go:263,367,
    389-429). An absent allowedNamespaces, `list: []` and `selector: {matchLabels: {}}` admit
    nothing; a selector needs the Namespace's labels. What ClusterClass stamps out of a
    template lives in the Cluster's namespace, not the template's, and gets the identityRef
    that the class's patches set from the Cluster's variables; the finding points where that
    value is written (template, class patch or default, or the Cluster's variable).

    Bad:
        kind: AWSClusterControllerIdentity   # source of staging-identity
        spec:
          allowedNamespaces: {list: [live]}  # the staging control plane is refused

    Good:
        spec:
          allowedNamespaces: {list: [live, staging]}

    Fix: point identityRef at the namespace's own identity (the account's `<name>-identity`,
    which admits exactly that namespace; the message names it). Add the namespace to the named
    identity's allowedNamespaces.list only when that identity is meant to serve it: for another
    account's role identity that would open that account's role to this namespace (render
    keeps `default`'s list equal to the account namespaces).
    """
    for use in identity_uses(ctx):
        ref = _identity_ref(use.ref)
        namespace = use.namespace
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
                report.at(
                    use.obj,
                    _name_path(use),
                    f"{ident.kind} {ident.name!r} (reached through {via}, "
                    f"{where(ident, path)}) does not admit namespace {namespace!r}: CAPA "
                    f'refuses with "Namespace is not permitted to use {ident.kind}: '
                    f'{ident.name}"' + _for(use) + _own_identity_hint(ctx, namespace, ident.name),
                    related=(ident.location(path),),
                )
            source = ident.get("spec", "sourceIdentityRef")
            ref = _identity_ref(source) if ident.kind == ROLE_IDENTITY else None
            via = f"sourceIdentityRef of {ident.name!r}"


def _own_identity_hint(ctx: Context, namespace: str, used: str) -> str:
    """Where the fix is: the namespace's own identity, when it has one and another was used."""
    account = ctx.accounts_by_namespace.get(namespace)
    if account is None or account.identity_name == used:
        return ""
    return (
        f"; use namespace {namespace!r}'s own identity {account.identity_name!r} (admitting "
        f"{namespace!r} in {used!r} would open its role to this namespace)"
    )


@rule("CAPA-C004", name="IdentityRefToControllerOrStatic")
def check_identity_ref_kind(ctx: Context, report: Reporter) -> None:
    """identityRef points at the controller identity or a static identity.

    Why: the controller identity `default` is CAPA's own credentials, the management account's
    (session.go:242-249): the cluster would be built there, and `default` must admit every
    account namespace, so any account could reach the management account this way. A static
    identity means long-lived access keys in a Secret (pkg/cloud/identity/identity.go:51-53).
    Not checked in operator mode, where each provider's `default` is its own account; the
    controller identity is accepted in the management account's own namespaces
    (accounts.yaml `management.namespaces`), whose clusters use it on purpose. A static
    identity that is present is reported once, by CAPA-I008, which lists the objects using it.

    Bad:
        identityRef: {kind: AWSClusterControllerIdentity, name: default}

    Good:
        identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}

    Fix: point identityRef at the account's AWSClusterRoleIdentity.
    """
    if _operator_mode(ctx):
        return
    why = {
        CONTROLLER_IDENTITY: "the controller's own credentials, i.e. the management account",
        STATIC_IDENTITY: "long-lived access keys stored in a Secret",
    }
    for use in identity_uses(ctx):
        kind = use.ref.get("kind") if isinstance(use.ref, dict) else None
        if not isinstance(kind, str) or kind not in why:  # a list or map: R004's
            continue
        if kind == CONTROLLER_IDENTITY and management_namespace(ctx, use.namespace):
            continue  # the management account's own cluster: its credentials on purpose
        name = use.ref.get("name")
        if (
            kind == STATIC_IDENTITY
            and not use.templated
            and isinstance(name, str)
            and ctx.identity(kind, name)
        ):
            continue  # one fact once: CAPA-I008 reports that identity and names this user
        report.at(
            use.obj,
            _key_path(use, "kind"),
            f"identityRef uses {kind}: {why[kind]}; use the account's AWSClusterRoleIdentity"
            + _for(use),
        )

"""Identities (CAPA-I001 … I008): who may use each CAPA identity, and what each role identity
chains from.

This module owns the identities themselves (CAPA-I001 to I008, X003): what CAPA makes of a
stored ``allowedNamespaces`` (pkg/cloud/scope/session.go:389-429), the singleton ``default``,
the ``sourceIdentityRef`` chain, static identities and the cluster scope of all three kinds.
Whether a control plane's chain admits *its* namespace is CAPA-C003's question.
"""

from __future__ import annotations

from typing import Any, Literal

from capa_accounts.core.aws import ARN_ACCOUNT
from capa_accounts.core.resources import (
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    IDENTITY_KINDS,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
)
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.rules import Reporter, rule

ALLOWED: PathT = ("spec", "allowedNamespaces")
SOURCE: PathT = ("spec", "sourceIdentityRef")

Verdict = Literal["unset", "all", "none", "some", "invalid"]


def verdict(allowed: Any) -> Verdict:
    """CAPA's reading of a stored ``allowedNamespaces`` (isClusterPermittedToUsePrincipal).

    nil admits nobody (session.go:391); a value ``cmp.Equal`` to the zero struct admits
    everybody (:396), and go-cmp tells nil from empty, so ``list: []`` or ``matchLabels: {}``
    is not zero; then only the list (:400-404) and a non-empty selector admit anyone
    (``selector.Empty()`` denies, :414). A wrong type is CAPA-R004's finding: "invalid".
    """
    if allowed is None:
        return "unset"
    if not isinstance(allowed, dict):
        return "invalid"
    names, selector = allowed.get("list"), allowed.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    exprs = selector.get("matchExpressions") if isinstance(selector, dict) else None
    if not (
        isinstance(names, list | None)
        and isinstance(selector, dict | None)
        and isinstance(labels, dict | None)
        and isinstance(exprs, list | None)
    ):
        return "invalid"
    if names is None and labels is None and exprs is None:
        return "all"
    return "some" if names or labels or exprs else "none"


def describe(obj: Obj) -> str:
    return f"{obj.kind} {obj.name!r}"


def _use(ctx: Context, obj: Obj) -> str:
    """What a namespace that ``obj`` admits can do with it, named by AWS account."""
    if obj.kind == ROLE_IDENTITY:
        account = ctx.account_of(obj)
        arn = str(obj.get("spec", "roleARN") or "")
        match = ARN_ACCOUNT.match(arn)
        account_id = account.account_id if account else (match.group(1) if match else None)
        return (
            f"build clusters in account {account_id} with this role"
            if account_id
            else f"build clusters with role {arn or '(no roleARN)'}"
        )
    if obj.kind == CONTROLLER_IDENTITY:
        mgmt = f" (account {ctx.account_set.management.account_id})" if ctx.account_set else ""
        return f"build clusters with the management account's own credentials{mgmt}"
    return f"build clusters with the access keys of Secret {obj.get('spec', 'secretRef')!r}"


def _denied(obj: Obj) -> str:
    # The condition message CAPA sets on every cluster it refuses (session.go:50).
    return f"'Namespace is not permitted to use {obj.kind}: {obj.name}'"


def _absent_at(obj: Obj) -> PathT:
    return ("spec",) if obj.has("spec") else ("metadata", "name")


def _source(obj: Obj) -> tuple[str, str] | None:
    ref = obj.get(*SOURCE)
    if not isinstance(ref, dict):
        return None
    return str(ref.get("kind") or ""), str(ref.get("name") or "")


@rule("CAPA-I001", name="AllowedNamespacesMissing")
def check_absent(ctx: Context, report: Reporter) -> None:
    """An identity's `allowedNamespaces` is absent or null: no namespace can use it.

    Why: CAPA reads a nil `allowedNamespaces` as "no namespace", not "every namespace" (CAPA
    pkg/cloud/scope/session.go:389-392): every cluster whose chain passes through the identity
    fails with "Namespace is not permitted to use ...".

    Bad:
        spec:
          roleARN: arn:aws:iam::222222222222:role/controllers.cluster-api-provider-aws.sigs.k8s.io

    Good:
        spec:
          allowedNamespaces: {list: [staging]}

    Fix: list the namespaces that may use it (a role identity: its account's namespace).
    """
    for obj in ctx.identities():
        if verdict(obj.get(*ALLOWED)) == "unset":
            present = obj.has(*ALLOWED)
            report.at(
                obj,
                ALLOWED if present else _absent_at(obj),
                at_key=True,
                message=(
                    f"{describe(obj)} has {'a null' if present else 'no'} allowedNamespaces: CAPA "
                    f"admits no namespace, so every cluster using it fails with {_denied(obj)}"
                ),
            )


@rule("CAPA-I002", name="AllowedNamespacesAll")
def check_everybody(ctx: Context, report: Reporter) -> None:
    """`allowedNamespaces` admits every namespace: `{}`, `{list: null}`, `{selector: {}}`.

    Why: CAPA admits every namespace when `allowedNamespaces` equals its empty value (CAPA
    pkg/cloud/scope/session.go:394-397), and `list: null` and `selector: {}` are empty; CAPA's
    docs say otherwise for `selector: {}` (topics/multitenancy.md:329-337), the code wins. A
    misspelt key (`lists:`) is pruned by the API server and leaves `{}` behind.

    Bad:
        allowedNamespaces: {selector: {}}

    Good:
        allowedNamespaces: {list: [staging]}

    Fix: list exactly the namespaces that may use the identity.
    """
    for obj in ctx.identities():
        if verdict(obj.get(*ALLOWED)) == "all":
            report.at(
                obj,
                ALLOWED,
                at_key=True,
                message=(
                    f"{describe(obj)}: allowedNamespaces admits every namespace (CAPA reads it as "
                    f"the empty value): any namespace can {_use(ctx, obj)}"
                ),
            )


@rule("CAPA-I003", name="AllowedNamespacesNone")
def check_nobody(ctx: Context, report: Reporter) -> None:
    """`allowedNamespaces` admits none: `list: []` alone, `selector: {matchLabels: {}}` alone.

    Why: CAPA tells an empty list from a missing one (go-cmp), so the value is not "every
    namespace"; the empty list names nobody and an empty selector matches nothing (CAPA
    pkg/cloud/scope/session.go:400-415; hit with CAPA v2.9.1 in k0rdent/kcm#2022).

    Bad:
        allowedNamespaces: {selector: {matchLabels: {}}}

    Good:
        allowedNamespaces: {list: [staging]}

    Fix: list the namespaces that may use the identity.
    """
    for obj in ctx.identities():
        allowed = obj.get(*ALLOWED)
        if verdict(allowed) != "none":
            continue
        key = "list" if allowed.get("list") is not None else "selector"
        why = (
            "an empty list names no namespace"
            if key == "list"
            else "an empty label selector matches no namespace"
        )
        report.at(
            obj,
            (*ALLOWED, key),
            at_key=True,
            message=(
                f"{describe(obj)}: allowedNamespaces admits no namespace ({why}, and CAPA does not "
                f"read it as 'every namespace'): every cluster using it fails with {_denied(obj)}"
            ),
        )


@rule("CAPA-I004", "warning", name="AllowedNamespacesSelector")
def check_selector(ctx: Context, report: Reporter) -> None:
    """`allowedNamespaces` uses a label selector: anyone who can label a namespace can widen it.

    Why: CAPA admits every namespace whose labels match, listing namespaces at reconcile time
    (CAPA pkg/cloud/scope/session.go:406-427): whoever may label or create a namespace decides
    who uses the identity. CAPA also needs RBAC to list namespaces (CAPA issue #2372).

    Bad:
        allowedNamespaces: {selector: {matchLabels: {env: staging}}}

    Good:
        allowedNamespaces: {list: [staging]}

    Fix: name the namespaces in `list`; suppress with a reason if labels are tightly controlled.
    """
    for obj in ctx.identities():
        sel = obj.get(*ALLOWED, "selector")
        if (
            verdict(obj.get(*ALLOWED)) == "some"
            and isinstance(sel, dict)
            and (sel.get("matchLabels") or sel.get("matchExpressions"))
        ):
            report.at(
                obj,
                (*ALLOWED, "selector"),
                at_key=True,
                message=(
                    f"{describe(obj)} admits namespaces by label selector: anyone who can label a "
                    f"namespace can make it match and {_use(ctx, obj)}"
                ),
            )


@rule("CAPA-I005", name="IdentityAdmitsForeignNamespace")
def check_foreign_namespace(ctx: Context, report: Reporter) -> None:
    """A role identity admits a namespace other than its own account's namespace.

    Why: `allowedNamespaces` alone keeps one account's namespace from another account's role
    (CAPA pkg/cloud/scope/session.go:389-429): a second namespace in the list lets its
    clusters be built in this role's AWS account.

    Bad:
        metadata: {name: staging-identity}
        spec: {allowedNamespaces: {list: [staging, live]}}

    Good:
        metadata: {name: staging-identity}
        spec: {allowedNamespaces: {list: [staging]}}

    Fix: keep only the namespace accounts.yaml declares for the account; `capa-accounts render`.
    """
    if ctx.account_set is None:
        return
    for obj in ctx.identities(ROLE_IDENTITY):
        account = ctx.account_of(obj)
        names = obj.get(*ALLOWED, "list")
        if account is None or not isinstance(names, list):
            continue
        declared = (ctx.config_location(("spec", "accounts", account.index, "namespace")),)
        for i, name in enumerate(names):
            if not isinstance(name, str) or name == account.namespace:
                continue
            owner = ctx.accounts_by_namespace.get(name)
            whose = f"account {owner.name!r}'s namespace" if owner else "no account declares it"
            report.at(
                obj,
                (*ALLOWED, "list", i),
                related=declared,
                message=(
                    f"{describe(obj)} admits namespace {name!r} ({whose}), not only account "
                    f"{account.name!r}'s namespace {account.namespace!r}: clusters in {name!r} "
                    f"can build in account {account.account_id} with this role"
                ),
            )


@rule("CAPA-I006", name="ControllerIdentityNotDefault")
def check_controller_identity(ctx: Context, report: Reporter) -> None:
    """The controller identity is not named `default`, or is missing while a role identity uses it.

    Why: CAPA's webhook accepts only the name `default` (CAPA
    webhooks/awsclustercontrolleridentity_webhook.go:62-66; pkg/cloud/scope/session.go:358-360),
    and CAPA's AutoControllerIdentityCreator creates it only for clusters that reference it
    directly, never for role-identity chains
    (exp/controlleridentitycreator/awscontrolleridentity_controller.go:90-120).

    Bad:
        kind: AWSClusterControllerIdentity
        metadata: {name: controller}

    Good:
        kind: AWSClusterControllerIdentity
        metadata: {name: default}

    Fix: name it `default`; keep overlays/management (`capa-accounts render` writes it).
    """
    for obj in ctx.identities(CONTROLLER_IDENTITY):
        if obj.name and obj.name != DEFAULT_IDENTITY:  # no name at all is CAPA-R007's
            report.at(
                obj,
                ("metadata", "name"),
                message=(
                    f"AWSClusterControllerIdentity {obj.name!r}: CAPA's webhook accepts only the "
                    f"name {DEFAULT_IDENTITY!r}, so the API server rejects it and the Flux "
                    "Kustomization applying it fails"
                ),
            )
    if ctx.identity(CONTROLLER_IDENTITY, DEFAULT_IDENTITY) is not None:
        return
    for obj in ctx.identities(ROLE_IDENTITY):
        if _source(obj) == (CONTROLLER_IDENTITY, DEFAULT_IDENTITY):
            report.unseen(
                obj,
                (*SOURCE, "name"),
                f"{describe(obj)} chains from AWSClusterControllerIdentity 'default', which "
                f"{ctx.whole} does not contain: CAPA never creates it for role-identity "
                "clusters, so every cluster using this identity fails to get credentials",
            )


@rule("CAPA-I007", name="SourceIdentityRefBroken")
def check_source_chain(ctx: Context, report: Reporter) -> None:
    """`sourceIdentityRef` is missing, dangling, or part of a cycle.

    Why: CAPA's webhook rejects a role identity without one
    (webhooks/awsclusterroleidentity_webhook.go:60-63). CAPA follows the chain recursively,
    with no depth limit, for the credentials it assumes each role with (CAPA
    pkg/cloud/scope/session.go:273-289): a missing source fails every cluster on the chain and
    a cycle never yields credentials. A controller source must be `default` (session.go:358).

    Bad:
        metadata: {name: staging-identity}
        spec: {sourceIdentityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}}

    Good:
        spec: {sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}}

    Fix: point `sourceIdentityRef` at an identity the repository contains, ending at `default`.
    """
    first: dict[str, Obj] = {}
    edges: dict[str, str] = {}  # role identity -> the role identity it chains from
    for obj in ctx.identities(ROLE_IDENTITY):
        first.setdefault(obj.name, obj)
        if obj.get(*SOURCE) is None:
            present = obj.has(*SOURCE)
            report.at(
                obj,
                SOURCE if present else _absent_at(obj),
                at_key=True,
                message=(
                    f"{describe(obj)} has {'a null' if present else 'no'} sourceIdentityRef: "
                    "CAPA's webhook rejects a role identity without one, so the API server "
                    "refuses it"
                ),
            )
            continue
        kind, name = _source(obj) or ("", "")
        if kind not in IDENTITY_KINDS or not name:
            continue  # a schema violation (CAPA-R004)
        if kind == CONTROLLER_IDENTITY:
            if name != DEFAULT_IDENTITY:  # a missing `default` is CAPA-I006's
                report.at(
                    obj,
                    (*SOURCE, "name"),
                    message=(
                        f"{describe(obj)} chains from AWSClusterControllerIdentity {name!r}: CAPA "
                        f"accepts only {DEFAULT_IDENTITY!r} and fails every cluster using it"
                    ),
                )
        elif ctx.identity(kind, name) is None:
            report.unseen(
                obj,
                (*SOURCE, "name"),
                f"{describe(obj)} chains from {kind} {name!r}, which {ctx.whole} does not "
                "contain: CAPA cannot get the source credentials, so every cluster using it "
                "fails",
            )
        elif kind == ROLE_IDENTITY and first[obj.name] is obj:
            edges[obj.name] = name
    for cycle in _cycles(edges):
        shown = " -> ".join([*cycle, cycle[0]])
        for i, name in enumerate(cycle):
            after = first[cycle[(i + 1) % len(cycle)]]
            report.at(
                first[name],
                (*SOURCE, "name"),
                related=(after.location((*SOURCE, "name")),),
                message=(
                    f"{describe(first[name])} is part of a sourceIdentityRef cycle "
                    f"({shown}): CAPA follows the chain without end, so no cluster "
                    "using it gets credentials"
                ),
            )


def _cycles(edges: dict[str, str]) -> list[list[str]]:
    """Every cycle of a graph with at most one edge per node, in O(n): each node is walked once."""
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    cycles: list[list[str]] = []
    for start in edges:
        walk: list[str] = []
        node = start
        while node in edges and node not in state:
            state[node] = 1
            walk.append(node)
            node = edges[node]
        if state.get(node) == 1:
            cycles.append(walk[walk.index(node) :])
        for seen in walk:
            state[seen] = 2
    return cycles


@rule("CAPA-I008", name="StaticIdentity")
def check_static_identity(ctx: Context, report: Reporter) -> None:
    """An `AWSClusterStaticIdentity` is present (long-lived keys).

    Why: CAPA then uses the access keys of a Secret in its own namespace (CAPA
    pkg/cloud/scope/session.go:312-339; pkg/cloud/identity/identity.go:51-53): keys that never
    expire, must be rotated by hand and work outside the cluster for anyone who reads them.

    Bad:
        kind: AWSClusterStaticIdentity
        spec: {secretRef: aws-keys}

    Good:
        kind: AWSClusterRoleIdentity
        spec: {sourceIdentityRef: {kind: AWSClusterControllerIdentity, name: default}}

    One finding per identity: the objects whose `identityRef` names it are listed with it
    (CAPA-C004 does not report them again).

    Fix: use an `AWSClusterRoleIdentity` per account (`capa-accounts add-account`), then
    deactivate the keys in IAM.
    """
    users: dict[str, list[Obj]] = {}
    for user in ctx.identity_users():
        ref = user.get("spec", "identityRef")
        if isinstance(ref, dict) and ref.get("kind") == STATIC_IDENTITY:
            users.setdefault(str(ref.get("name")), []).append(user)
    for obj in ctx.identities(STATIC_IDENTITY):
        using = users.get(obj.name, [])
        shown = ", ".join(f"{u.kind} {u.name!r}" for u in using[:3])
        more = f" and {len(using) - 3} more" if len(using) > 3 else ""
        report.at(
            obj,
            ("kind",),
            message=(
                f"{describe(obj)} makes CAPA use the long-lived access keys of Secret "
                f"{obj.get('spec', 'secretRef')!r}: keys that never expire and work outside the "
                "cluster; use an AWSClusterRoleIdentity"
                + (f" (identityRef of {shown}{more} names it)" if using else "")
            ),
            related=tuple(u.location(("spec", "identityRef", "kind")) for u in using),
        )

"""Isolation and scope (CAPA-X001 … X004): what accounts must never share, and where objects live.

This module owns the question "can one account's objects or credentials collide with
another's?": namespaces and identity names (X001), the objects two overlays apply (X002),
identities stamped with a namespace (X003) and AWS account IDs (X004).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from capa_accounts.core import yamlio
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding, Location, Severity
from capa_accounts.core.kustomization import KUSTOMIZATION_FILES
from capa_accounts.core.model import shared_account_ids
from capa_accounts.core.resources import (
    CAPA_NAMESPACE,
    INFRA_GROUP,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    ResourceId,
)
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.check.fluxapply import is_template
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.controlplanes import admits
from capa_accounts.hooks.rules.identities import describe as _label

# clusterawsadm input, never applied by Flux (.sourceignore lists bootstrap/): one file per AWS
# account, all of the same kind and without a name.
_NOT_APPLIED = {"AWSIAMConfiguration"}


def _owner(obj: Obj) -> str:
    """What applies an object: its overlay's Flux Kustomization, or the loose file itself."""
    if obj.source.flux:  # a copy substituted for one Flux Kustomization (check/fluxapply.py)
        return f"{obj.source.overlay or obj.file} (Flux Kustomization {obj.source.flux})"
    return obj.source.overlay or obj.file


@rule("CAPA-X001", name="SharedNamespaceOrIdentity")
def check_shared_namespace(ctx: Context, report: Reporter) -> None:
    """Two accounts share a namespace or an identity name.

    Why: CAPA decides which credentials a cluster may use by its namespace alone
    (pkg/cloud/scope/session.go:389-429), and identities are cluster-scoped
    (api/v1beta2/awsidentity_types.go:109). Two accounts whose role identities admit one
    namespace let that namespace's clusters use either account's credentials; two accounts
    with one identity name overwrite each other's identity. `render` and `add-account` refuse
    such an accounts.yaml; check also finds it in hand-written overlays.

    Bad:
        # overlays/staging/identity.yaml      # overlays/live/identity.yaml
        name: staging-identity                 name: live-identity
        allowedNamespaces: {list: [shared]}    allowedNamespaces: {list: [shared]}

    Good:
        allowedNamespaces: {list: [staging]}   allowedNamespaces: {list: [live]}

    Fix: give every account its own namespace (`namespace:`) and identity name
    (`identityName:`) in accounts.yaml, then run `capa-accounts render`.
    """
    if ctx.account_set is not None:
        seen: dict[tuple[str, str], tuple[str, int]] = {}
        for account in ctx.account_set.accounts:
            for what, key, value in (
                ("namespace", "namespace", account.namespace),
                ("identity name", "identityName", account.identity_name),
            ):
                user, index = seen.setdefault((what, value), (account.name, account.index))
                if user != account.name:
                    report.config(
                        _config_path(ctx, account.index, key),
                        f"{what} {value!r} is already used by account {user!r}: "
                        f"accounts must not share a {what}",
                        related=(ctx.config_location(_config_path(ctx, index, key)),),
                    )
    admitted: dict[str, list[tuple[Obj, int]]] = defaultdict(list)
    for ident in ctx.identities(ROLE_IDENTITY):
        names = ident.get("spec", "allowedNamespaces", "list")
        if not isinstance(names, list):
            continue  # selectors and "all namespaces" are identity findings (I002, I004)
        for i, namespace in enumerate(names):
            if isinstance(namespace, str):
                admitted[namespace].append((ident, i))
    homes = {(_owner(o), o.namespace) for o in ctx.objects if o.namespace}
    path = ("spec", "allowedNamespaces", "list")
    for namespace, entries in admitted.items():
        if len({_owner(ident) for ident, _ in entries}) < 2:
            continue
        # Blame the identities that admit a namespace not their own: the account that declares
        # it, else the one whose overlay puts objects there, keeps it.
        home = next(
            (e for e in entries if _declared_namespace(ctx, e[0]) == namespace), None
        ) or next((e for e in entries if (_owner(e[0]), namespace) in homes), entries[0])
        first, j = home
        for ident, i in entries:
            if _owner(ident) != _owner(first):
                report.at(
                    ident,
                    (*path, i),
                    f"namespace {namespace!r} is also admitted by "
                    f"{first.kind} {first.name!r} of {_owner(first)}: clusters there "
                    "could use either account's credentials",
                    related=(first.location((*path, j)),),
                )


def _declared_namespace(ctx: Context, ident: Obj) -> str | None:
    account = ctx.account_of(ident)
    return account.namespace if account else None


def _config_path(ctx: Context, index: int, key: str) -> tuple[str | int, ...]:
    doc = ctx.account_set.document if ctx.account_set else None
    entry = doc.data["spec"]["accounts"][index] if doc else {}
    return ("spec", "accounts", index, key if isinstance(entry, dict) and key in entry else "name")


@rule("CAPA-X002", name="DuplicateObject")
def check_duplicate_objects(ctx: Context, report: Reporter) -> None:
    """Two overlays render the same object (same group, kind, namespace, name).

    Why: each overlay is applied by its own Flux Kustomization, and each one owns what it
    applies: the two overwrite each other's version on every sync, and pruning one deletes the
    object the other still needs. For an identity (cluster-scoped, so the namespace does not
    tell them apart) that means one account's clusters reconcile with the other's role.

    Bad:
        # overlays/staging/identity.yaml and overlays/live/identity.yaml both hold
        kind: AWSClusterRoleIdentity
        metadata: {name: shared-identity}

    Good:
        metadata: {name: staging-identity}     metadata: {name: live-identity}

    A name that holds `${var}` is a template Flux substitutes per Kustomization
    (`postBuild.substitute`), compared only once substituted.

    Fix: give the object a name unique to its account, or apply it from one overlay only.
    """
    for rid, objs in ctx.by_id.items():
        if len(objs) < 2 or not rid.name or rid.kind in _NOT_APPLIED:
            continue
        if is_template(rid.name) or is_template(rid.namespace):
            continue  # a `${var}` Flux substitutes per Kustomization: a template, not a name
        first = objs[0]
        for obj in objs[1:]:
            if _owner(obj) == _owner(first):
                continue  # one build: kustomize itself refuses the duplicate
            report.at(
                obj,
                ("metadata", "name"),
                f"{_describe(rid)} of {obj.file} is also "
                f"applied by {_owner(first)} from {first.file}: two Flux Kustomizations "
                "would fight over it",
                related=(first.location(("metadata", "name")),),
            )


def _describe(rid: ResourceId) -> str:
    group = "" if rid.group in ("", INFRA_GROUP) else f" ({rid.group})"
    return f"{rid}{group}"


@rule("CAPA-X004", "warning", name="SharedAwsAccount")
def check_shared_account_id(ctx: Context, report: Reporter) -> None:
    """Two accounts share an AWS account ID: the environments are not isolated.

    Why: the AWS account is the isolation boundary: IAM, quotas, VPC limits and blast radius.
    Two entries with one account ID reach the same controllers role, so a mistake or a
    compromise in one environment reaches the other. Allowed (for example a sandbox sharing a
    staging account), but rarely intended: often a copy-paste slip.

    Bad:
        - {name: staging, accountId: "222222222222"}
        - {name: live, accountId: "222222222222"}

    Good:
        - {name: staging, accountId: "222222222222"}
        - {name: live, accountId: "333333333333"}

    Fix: give each account its own AWS account, or suppress with a reason:
    `suppress: [{rule: CAPA-X004, reason: ...}]`.
    """
    if ctx.account_set is None:
        return
    for first, second in shared_account_ids(ctx.account_set):
        report.config(
            ("spec", "accounts", second.index, "accountId"),
            f"account {second.name!r} uses AWS account {second.account_id}, as "
            f"account {first.name!r} does: the two are not isolated",
            related=(ctx.config_location(("spec", "accounts", first.index, "accountId")),),
        )


@rule("CAPA-X003", name="NamespacedClusterScopedIdentity")
def check_namespaced_identity(ctx: Context, report: Reporter) -> None:
    """A cluster-scoped identity carries `metadata.namespace` (a warning unless it changes meaning).

    Why: CAPA's identity kinds are cluster-scoped (CAPA api/v1beta2/awsidentity_types.go,
    `scope=Cluster`): the API server drops the namespace, which confines nothing (only
    `allowedNamespaces` does). kustomize's `namespace:` transformer adds it, as it does not know
    these kinds (kubernetes-sigs/kustomize#552); Flux applies such an object all the same (its
    requests name a namespace only for namespaced kinds, and fluxcd/pkg ssa manager_diff.go
    compares labels, annotations and the body, not `metadata.namespace`), so that alone is a
    warning. CAPA judges the *cluster's* namespace against `allowedNamespaces`
    (pkg/cloud/scope/session.go, isClusterPermittedToUsePrincipal), never the identity's, so
    a stamped namespace the identity does not admit (`namespace: capa-system` on the
    management overlay, beside `default`) breaks nothing either: a warning that says so. It is
    an error only where the namespace changes meaning: a static identity stamped with a
    namespace other than CAPA's own, where the reader would put its Secret, while CAPA reads
    the Secret from its own namespace (session.go:318, `system.GetManagerNamespace()`,
    `capa-system` unless the manager runs elsewhere; util/system/util.go).

    Bad:
        kind: AWSClusterRoleIdentity
        metadata: {name: staging-identity, namespace: staging}

    Good:
        kind: AWSClusterRoleIdentity
        metadata: {name: staging-identity}

    Fix: remove `metadata.namespace`; keep identities out of kustomizations with `namespace:`.
    """
    transformers: dict[str, Location | None] = {}
    for obj in ctx.identities():
        namespace = obj.get("metadata", "namespace")
        if namespace in (None, ""):
            continue
        message = (
            f"{_label(obj)} is cluster-scoped but carries namespace {namespace!r}: the "
            "API server drops it, so it does not confine the identity (allowedNamespaces "
            "does)"
        )
        severity: Severity = "warning"
        if obj.kind == STATIC_IDENTITY and namespace != CAPA_NAMESPACE:
            severity = "error"
            message += (
                f"; CAPA reads its Secret from its own namespace ({CAPA_NAMESPACE!r} by "
                "default), not from this one"
            )
        elif obj.kind != STATIC_IDENTITY and not admits(
            ctx, obj.get("spec", "allowedNamespaces"), str(namespace)
        ):
            message += (
                f"; it does not admit {namespace!r}, which changes nothing (CAPA judges the "
                "cluster's namespace), but remove it"
            )
        else:
            message += "; Flux applies it all the same, but remove it"
        if obj.file not in transformers:
            transformers[obj.file] = _namespace_transformer(ctx, obj.file)
        where = transformers[obj.file]
        if where is None:
            report.at(obj, ("metadata", "namespace"), message=message, severity=severity)
        else:  # built by kustomize: the place to fix is the kustomization's `namespace:`
            report.raw(
                Finding(
                    report.rule,
                    severity,
                    where.file,
                    where.line,
                    where.column,
                    f"{message}; this kustomization's `namespace:` stamps it",
                    obj.ref(),
                )
            )


def _namespace_transformer(ctx: Context, file: str) -> Location | None:
    """Where a kustomization that kustomize built for ``check`` sets ``namespace:``, if it does."""
    if Path(file).name not in KUSTOMIZATION_FILES:
        return None
    try:
        docs = yamlio.load_documents(ctx.root / file, file)
    except InputError:
        return None
    if not docs or not isinstance(docs[0].data, dict) or "namespace" not in docs[0].data:
        return None
    line, column = yamlio.position(docs[0].node, ("namespace",), at_key=True)
    return Location(file, line, column)

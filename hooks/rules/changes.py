"""Changes against a git ref (CAPA-D001 … D003): end states that are valid but destroy on the way.

This module owns the question "what does applying this change do to the clusters that already
run?". Each rule compares the objects Flux would apply now with those it applied at
``check --base REF`` (read from git by ``hooks/git/base.py``) and reports in the working-tree file,
with the value at REF in the message. The rules run only when a base ref is given.
What removing an account or a cluster does is ``removals`` (CAPA-D004, D005).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from capa_accounts.core.errors import GitError
from capa_accounts.core.resources import (
    CAPI_BOOTSTRAP_GROUP,
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    CONTROLPLANE_GROUP,
    DEFAULT_IDENTITY,
    IDENTITY_KINDS,
    INFRA_GROUP,
    ROLE_IDENTITY,
)
from capa_accounts.core.suggest import close as _close
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.rules import Reporter, rule

CLUSTER_GROUPS = {CAPI_GROUP, INFRA_GROUP, CONTROLPLANE_GROUP, CAPI_BOOTSTRAP_GROUP}
IDENTITY_REF = ("spec", "identityRef")
MINOR = re.compile(r"^v?(\d+)\.(\d+)")


def base_of(ctx: Context) -> Context:
    """The objects at ``ctx.base_ref``, judged as stored (pruned), as the engine read them."""
    if ctx.base is None:  # the engine runs change-aware rules only with --base
        raise GitError("no base ref given", "--base")
    return ctx.base


def _before(base: Context, obj: Obj) -> Obj | None:
    found = base.by_id.get(obj.id)
    return found[0] if found else None


def shown(obj: Obj) -> str:
    return f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name


@rule("CAPA-D001", change_aware=True, name="IdentityRefChanged")
def check_identity_change(ctx: Context, report: Reporter) -> None:
    """(--base) An identityRef changed (control plane, AWSCluster, ROSA): another account's keys.

    Why: CAPA's webhook only forbids removing identityRef (controlplane/eks/webhooks/
    awsmanagedcontrolplane_webhook.go:181-187; likewise api/v1beta2/awscluster_webhook.go,
    ValidateUpdate); switching it is accepted, and CAPA then calls AWS for this existing cluster
    with the other identity's credentials: another account, where the cluster is not. Every kind
    that carries an identityRef is compared (`AWSManagedControlPlane`, `AWSCluster`,
    `ROSAControlPlane`, `ROSANetwork`, `ROSARoleConfig`). A missing identityRef counts as
    `default` (webhook:673-678; api/v1beta2/defaults.go). A new identity with the same roleARN
    (a renamed identity) is not a change of account.

    Bad (at REF `staging-identity`, now):
        identityRef: {kind: AWSClusterRoleIdentity, name: live-identity}

    Good:
        identityRef: {kind: AWSClusterRoleIdentity, name: staging-identity}

    Fix: keep the identityRef a running cluster was created with; to move a workload to
    another account, create a new cluster there and decommission this one.
    """
    base = base_of(ctx)
    for cp in ctx.identity_users():
        old = _before(base, cp)
        if old is None:
            continue
        before, after = _identity(old), _identity(cp)
        old_arn, new_arn = _role_arn(base, before), _role_arn(ctx, after)
        if before == after or (old_arn is not None and old_arn == new_arn):
            continue
        path: PathT = (*IDENTITY_REF, "name") if cp.has(*IDENTITY_REF, "name") else IDENTITY_REF
        typo = _misspelt_identity_ref(cp)
        if typo is not None:
            # One typo, one piece of advice: the identity did not change on purpose.
            report.at(
                cp,
                typo,
                f"identityRef of AWSManagedControlPlane {cp.name!r} is gone: "
                f"the key {typo[-1]!r} is misspelt (CAPA-R004), so the API server drops "
                f"it and CAPA's webhook defaults it to {after[0]} {after[1]!r}, the "
                f"management account's credentials (was {before[0]} {before[1]!r} at "
                f"{ctx.base_ref}); spell it `identityRef`",
                at_key=True,
            )
            continue
        arns = f" ({old_arn or before[0]} → {new_arn or after[0]})"
        report.at(
            cp,
            path,
            f"identityRef of {cp.kind} {cp.name!r} changed from "
            f"{before[0]} {before[1]!r} at {ctx.base_ref} to {after[0]} {after[1]!r}"
            f"{arns}: CAPA would reconcile this running cluster with another "
            "account's credentials; create a new cluster there instead",
        )


def _misspelt_identity_ref(cp: Obj) -> PathT | None:
    """The path of an unknown key under spec that is a misspelling of identityRef, if any."""
    for violation in cp.violations:
        path = violation.path
        if (
            violation.code == "unknown"
            and len(path) == 2
            and path[0] == "spec"
            and _close(str(path[1]).lower(), ["identityref"], cutoff=0.8)
        ):
            return path
    return None


def _default_replaced(ctx: Context, base: Context, old: Obj) -> str:
    """A note when `clusters:`, new in accounts.yaml, dropped the account's default cluster."""
    account = ctx.accounts_by_overlay.get(scope(old))
    if account is None or ctx.account_set is None or ctx.account_set.document is None:
        return ""
    entry = ctx.account_set.document.data["spec"]["accounts"][account.index]
    if cluster_names(base).get(id(old)) != account.name or "clusters" not in entry:
        return ""
    return (
        f"; `clusters:` replaces the account's default cluster {account.name!r}: list "
        f"`- name: {account.name}` to keep it, or with `decommissioning: true` to delete it"
    )


def _identity(cp: Obj) -> tuple[str, str]:
    ref = cp.get(*IDENTITY_REF)
    if not isinstance(ref, dict) or ref.get("kind") not in IDENTITY_KINDS:
        return CONTROLLER_IDENTITY, DEFAULT_IDENTITY  # the webhook's default (:673-678)
    return str(ref["kind"]), str(ref.get("name") or "")


def _role_arn(ctx: Context, ref: tuple[str, str]) -> str | None:
    if ref[0] != ROLE_IDENTITY:
        return None
    ident = ctx.identity(*ref)
    arn = ident.get("spec", "roleARN") if ident else None
    return arn if isinstance(arn, str) and arn else None


@rule("CAPA-D002", change_aware=True, name="ImmutableFieldChanged")
def check_immutable_change(ctx: Context, report: Reporter) -> None:
    """(--base) Immutable field changed: `region`, `eksClusterName`, cluster object name/namespace.

    Why: CAPA's webhook rejects a change of `region` (controlplane/eks/webhooks/
    awsmanagedcontrolplane_webhook.go:157-161) or `eksClusterName` (:220-227), so Flux's apply
    of the whole Kustomization fails and every other change of that account stops too. A new
    name or namespace is a new object: Flux prunes the old one (CAPA deletes its EKS cluster
    or node group in AWS) and creates a new, empty cluster. Objects are matched by overlay and
    cluster (label `cluster.x-k8s.io/cluster-name`, `spec.clusterName`, the Cluster's refs).

    Bad (at REF `eu-west-1`, now):
        region: eu-central-1

    Good:
        region: eu-west-1

    Fix: keep region, eksClusterName, names and namespaces of running clusters; to move,
    add a new cluster (accounts.yaml `clusters:`) and decommission the old one.
    """
    base = base_of(ctx)
    for cp in ctx.control_planes():
        old = _before(base, cp)
        if old is None:
            continue
        for field, value_of, cannot in (
            ("region", _region, "move to another region"),
            ("eksClusterName", eks_name, "be renamed"),
        ):
            was, now = value_of(old), value_of(cp)
            if was is None or was == now:
                continue
            message = (
                f"{field} of AWSManagedControlPlane {cp.name!r} changed from "
                f"{was!r} at {ctx.base_ref} to {now!r}: CAPA's webhook rejects the change "
                f"and Flux's apply fails; an EKS cluster cannot {cannot}: add a new "
                "cluster instead"
            )
            name = cluster_names(ctx).get(id(cp))
            source = _accounts_yaml_source(ctx, cp, field, name, now)
            if source is not None:  # rendered: where the user edited it, as D004 and D006
                report.config(source, message)
                continue
            path: PathT = ("spec", field) if cp.has("spec", field) else ("spec",)
            report.at(cp, path, message)
    for old, new in renames(ctx, base):
        path = ("metadata", "name")
        if old.name == new.name and new.has("metadata", "namespace"):
            path = ("metadata", "namespace")
        report.at(
            new,
            path,
            f"{new.kind} {shown(new)} was {shown(old)} at {ctx.base_ref}: a "
            "name or namespace cannot change, so Flux deletes the old object (CAPA "
            "deletes what it runs in AWS) and creates a new one; keep the old name"
            f"{_default_replaced(ctx, base, old)}",
        )


def _accounts_yaml_source(
    ctx: Context, cp: Obj, field: str, cluster: str | None, now: str | None
) -> PathT | None:
    """The accounts.yaml key a rendered control plane's region comes from (the cluster's own
    ``region`` when it has one, else the account's), when it holds the new value: the change
    was made there. None otherwise (a hand edit of the overlay, a hand-written control plane,
    the EKS cluster name, which base/ and the cluster's name make)."""
    account = ctx.accounts_by_overlay.get(cp.source.overlay or "")
    doc = ctx.account_set.document if ctx.account_set else None
    if field != "region" or account is None or doc is None:
        return None
    at: PathT = ("spec", "accounts", account.index)
    entry = doc.data["spec"]["accounts"][account.index]
    listed = entry.get("clusters")
    for j, item in enumerate(listed if isinstance(listed, list) else []):
        if isinstance(item, dict) and item.get("name") == cluster and "region" in item:
            return (*at, "clusters", j, "region") if item["region"] == now else None
    return (*at, "region") if entry.get("region") == now else None


def _region(cp: Obj) -> str | None:
    value = cp.get("spec", "region")
    return str(value) if value else None


def eks_name(cp: Obj) -> str:
    value = cp.get("spec", "eksClusterName")
    if value:
        return str(value)
    # The webhook's default, <namespace>_<name> with dots as "_" (pkg/eks/eks.go:51-66).
    return f"{cp.namespace or 'default'}_{cp.name}".replace(".", "_")


def cluster_related(obj: Obj) -> bool:
    return obj.id.group in CLUSTER_GROUPS and obj.kind not in IDENTITY_KINDS


def cluster_names(ctx: Context) -> dict[int, str]:
    """Object (by id()) → the name of the Cluster it belongs to, where that is known; made
    once per state (several rules ask, for each of their objects)."""
    return ctx.memo("changes.cluster_names", lambda: _cluster_names(ctx))


def _cluster_names(ctx: Context) -> dict[int, str]:
    out: dict[int, str] = {}
    refs: dict[tuple[str, str, str], str] = {}
    for cluster in ctx.applied("Cluster", CAPI_GROUP):
        for key in ("infrastructureRef", "controlPlaneRef"):
            ref = cluster.get("spec", key)
            if isinstance(ref, dict):
                refs[(cluster.namespace, str(ref.get("kind")), str(ref.get("name")))] = cluster.name
    for obj in ctx.objects:
        labels = obj.get("metadata", "labels")
        label = labels.get(CLUSTER_NAME_LABEL) if isinstance(labels, dict) else None
        name = (
            (obj.name if (obj.kind, obj.id.group) == ("Cluster", CAPI_GROUP) else None)
            or label
            or obj.get("spec", "clusterName")
            or refs.get((obj.namespace, obj.kind, obj.name))
        )
        if isinstance(name, str) and name:
            out[id(obj)] = name
    return out


def renames(ctx: Context, base: Context) -> list[tuple[Obj, Obj]]:
    """(object at REF, object now) pairs of one cluster object under a new name or namespace
    (made once per check: D002 and D005 ask)."""
    return ctx.memo("changes.renames", lambda: _renames(ctx, base))


def _renames(ctx: Context, base: Context) -> list[tuple[Obj, Obj]]:
    def unmatched(c: Context, others: Context) -> dict[tuple[str, str, str], list[Obj]]:
        """Cluster objects whose identity the other side lacks, by overlay, group and kind."""
        out: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        for obj in c.objects:
            if cluster_related(obj) and obj.id not in others.by_id:
                out[(scope(obj), obj.id.group, obj.kind)].append(obj)
        return out

    gone, appeared = unmatched(base, ctx), unmatched(ctx, base)
    if not gone:
        return []  # a pair is an object gone and one arrived: nothing went
    old_names, new_names = cluster_names(base), cluster_names(ctx)
    # A cluster listed as `decommissioning: true` left on purpose: a removal (CAPA-D005,
    # acknowledged), never the old name of a new cluster.
    for key, olds in gone.items():
        account = ctx.accounts_by_overlay.get(key[0])
        if account is not None:
            gone[key] = [
                o
                for o in olds
                if not account.decommissioning
                and old_names.get(id(o)) not in account.decommissioned
            ]
    old_clusters = {(scope(o), old_names.get(id(o))) for o in base.objects}
    new_clusters = {(scope(o), new_names.get(id(o))) for o in ctx.objects}
    pairs: list[tuple[Obj, Obj]] = []
    for key, olds in gone.items():
        news = list(appeared.get(key, []))
        left: list[Obj] = []
        for old in olds:
            # Same cluster, one of its objects under a new name or namespace.
            name = old_names.get(id(old))
            match = next(
                (n for n in news if name is not None and new_names.get(id(n)) == name), None
            )
            if match is None:
                left.append(old)
                continue
            pairs.append((old, match))
            news = [n for n in news if n is not match]
        # A renamed cluster: its old name left this overlay and a new name arrived in it.
        left = [
            o
            for o in left
            if old_names.get(id(o)) is None or (key[0], old_names.get(id(o))) not in new_clusters
        ]
        arrived = [
            n
            for n in news
            if new_names.get(id(n)) is None or (key[0], new_names.get(id(n))) not in old_clusters
        ]
        pairs.extend(zip(left, arrived, strict=False))
    return pairs


def scope(obj: Obj) -> str:
    return obj.source.overlay or obj.file


@rule("CAPA-D003", change_aware=True, name="VersionSkip")
def check_version_step(ctx: Context, report: Reporter) -> None:
    """(--base) A control plane's `version` decreased, or increased by more than one minor.

    Why: EKS cannot downgrade, and CAPA's webhook rejects a lower minor
    (controlplane/eks/webhooks/awsmanagedcontrolplane_webhook.go:250-254), so Flux's apply
    fails. EKS upgrades one minor at a time; CAPA then runs the upgrades back to back
    (pkg/cloud/services/eks/cluster.go:784-786), with no stop to upgrade node groups and
    add-ons in between. Only major.minor counts (`v1.30` is `1.30`).

    Bad (at REF `1.34`, now):
        version: "1.36"

    Good:
        version: "1.35"

    Fix: raise `kubernetesVersion` one minor per change, and let each upgrade finish.
    """
    base = base_of(ctx)
    for cp in (o for o in ctx.objects if o.id.group == CONTROLPLANE_GROUP):
        old = _before(base, cp)
        was = _minor(old.get("spec", "version")) if old else None
        now = _minor(cp.get("spec", "version"))
        if old is None or was is None or now is None or now == was:
            continue
        shown = (
            f"from {old.get('spec', 'version')!r} at {ctx.base_ref} to "
            f"{cp.get('spec', 'version')!r}"
        )
        if now < was:
            message = (
                f"version of {cp.kind} {cp.name!r} goes down {shown}: Kubernetes "
                "cannot be downgraded and CAPA's webhook rejects a lower minor"
            )
        elif now[0] != was[0] or now[1] > was[1] + 1:
            message = (
                f"version of {cp.kind} {cp.name!r} skips minors {shown}: EKS upgrades "
                f"one minor at a time; go to {was[0]}.{was[1] + 1} first"
            )
        else:
            continue
        report.at(cp, ("spec", "version") if cp.has("spec", "version") else ("spec",), message)


def _minor(version: Any) -> tuple[int, int] | None:
    # Only strings: YAML reads an unquoted 1.30 as the number 1.3 (C006 and R004 report it).
    match = MINOR.match(version) if isinstance(version, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None

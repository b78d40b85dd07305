"""Removals against a git ref (CAPA-D004, D005): what Flux and CAPA do when an account or a
cluster leaves the repository.

A removed account orphans its clusters (render's Flux Kustomizations set `deletionPolicy:
Orphan`); a cluster removed from an account that stays is pruned by Flux, and CAPA deletes it
in AWS. Both are errors unless the repository says the removal is meant: a cluster listed with
`decommissioning: true` (or an account set `decommissioning: true`) for D005, an account that
was already `decommissioning: true` at the base ref for D004. Acknowledged removals stay
warnings, so that the commit shows what will happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from capa_accounts.core import layout
from capa_accounts.core.finding import Finding, Severity
from capa_accounts.core.model import OPERATOR
from capa_accounts.core.resources import CAPI_GROUP, IDENTITY_KINDS
from capa_accounts.hooks.check.context import Context, Obj
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.changes import (
    base_of,
    cluster_names,
    cluster_related,
    eks_name,
    renames,
    shown,
)
from capa_accounts.hooks.rules.rendering import flux_kustomizations
from capa_accounts.kustomize_plugin.operator_mode import provider_name, provider_namespace

DECOMMISSION = "capa-accounts.dev/decommission"  # cluster names, comma-separated


@rule("CAPA-D004", change_aware=True, name="AccountRemovedUndecommissioned")
def check_removed_account(ctx: Context, report: Reporter) -> None:
    """(--base) An account was removed without being decommissioned first.

    Why: render's Flux Kustomizations use `deletionPolicy: Orphan`, so when an account leaves
    accounts.yaml (or its overlay and Flux Kustomization go), Flux deletes nothing: the EKS
    clusters keep running and billing in AWS. Render also drops the account's namespace from
    `default`, its AssumeRole grant and its admission-policy entry at once, so CAPA can
    neither reconcile nor delete those clusters any more (every hop of the identity chain,
    `default` included, must admit the namespace: pkg/cloud/scope/session.go). Compared by
    account name when accounts.yaml exists at both, else by overlay and Flux path. An error,
    unless the account was `decommissioning: true` at the base ref (then a warning: its
    namespace and identity are orphaned, delete them by hand); a hand-deleted overlay of an
    account that stays is always an error. Without accounts.yaml, an overlay whose clusters
    were already gone at the base ref is a warning. In operator mode the account's provider
    stays too (a CAPA with the account's keys); deleting it as is would also delete the CAPA
    webhook configurations the other accounts share (clusterctl's Delete), so the warning
    names the way out (docs/operator-mode.md, "Removing an account").

    Bad: deleting `- name: live` from accounts.yaml while `live` still runs clusters.

    Good: first commit `decommissioning: true` on the account (render removes its clusters,
    CAPA deletes them in AWS while its identity stays), then remove the account.

    Fix: put the account back with `decommissioning: true`, render, commit; once
    `kubectl get clusters -n <namespace>` is empty, remove it.
    """
    base = base_of(ctx)
    flux_then = {path: obj for obj, path in flux_kustomizations(base)}
    providers = _providers_at(base)
    # (overlay at REF, how it is named, decommissioning at REF)
    gone: list[tuple[str, str, bool]] = []
    if ctx.account_set and base.account_set:
        now = {a.name for a in ctx.account_set.accounts}
        gone = [
            (
                layout.overlay(a.name),
                f"account {a.name!r} (AWS account {a.account_id})",
                a.decommissioning,
            )
            for a in base.account_set.accounts
            if a.name not in now
        ]
    present = _present_overlays(ctx, (path for _obj, path in flux_kustomizations(ctx)))
    named = {overlay for overlay, _, _ in gone}
    for overlay in sorted(
        {
            o.source.overlay
            for o in base.objects
            if o.source.overlay and (cluster_related(o) or o.kind in IDENTITY_KINDS)
        }
    ):
        if overlay not in present and overlay not in named:
            gone.append((overlay, f"overlay {overlay}", False))
    for overlay, what, decommissioning in gone:
        clusters = sorted(
            o.name for o in base.objects if o.source.overlay == overlay and o.kind == "Cluster"
        )
        kept = ctx.accounts_by_overlay.get(overlay)
        flux = flux_then.get(overlay)
        policy = _deleting_policy(flux)
        fate = (
            f"are deleted by Flux (deletionPolicy {policy})"
            if policy
            else "keep running in AWS, and CAPA can no longer reconcile or delete them"
        )
        done = not clusters and (decommissioning or (kept is None and overlay not in named))
        if kept is not None:
            message = (
                f"{what} was deleted by hand, but account {kept.name!r} is still in "
                f"accounts.yaml: its clusters ({', '.join(clusters) or 'none'}) {fate}; "
                "run `capa-accounts render` to restore it, or set `decommissioning: "
                "true` on the account to delete its clusters"
            )
        elif done:
            left = (
                f"Flux deletes its namespace and identity (deletionPolicy {policy})"
                if policy
                else "Flux orphans its namespace and identity (deletionPolicy "
                "Orphan): delete them by hand"
            )
            message = (
                f"{what} was removed after decommissioning (at {ctx.base_ref} it had "
                f"no clusters left): check `kubectl get clusters -n "
                f"{_namespace_of(base, overlay)}` is empty; {left}, then delete the "
                "account's CloudFormation stack"
            )
            if overlay in providers:
                message += providers[overlay]
        else:
            message = (
                f"{what} was removed (present at {ctx.base_ref}, not decommissioning): "
                f"its clusters ({', '.join(clusters) or 'none declared'}) {fate}; "
                "put it back with `decommissioning: true`, render and commit, and "
                "remove it once CAPA has deleted its clusters"
            )
        severity: Severity = "warning" if done else "error"
        if ctx.account_set:
            path: tuple[str | int, ...] = (
                ("spec", "accounts", kept.index, "name") if kept else ("spec", "accounts")
            )
            report.config(path, message, at_key=kept is None, severity=severity)
        else:
            report.raw(
                Finding(
                    report.rule, severity, _remaining_file(ctx.root, overlay, flux), 1, 1, message
                )
            )


def _namespace_of(base: Context, overlay: str) -> str:
    """The namespace of a removed overlay at the base: its account's, else its objects'."""
    account = base.accounts_by_overlay.get(overlay)
    if account is not None:
        return account.namespace
    spaces = sorted(
        {o.namespace for o in base.objects if o.source.overlay == overlay and o.namespace}
    )
    return spaces[0] if spaces else "<namespace>"


def _providers_at(base: Context) -> dict[str, str]:
    """Operator mode at the base ref: what an account's removal leaves running, by overlay.

    Flux orphans the provider (deletionPolicy Orphan), so its CAPA keeps running with the
    account's keys. Deleting the InfrastructureProvider runs clusterctl's Delete, which
    deletes every webhook configuration of the provider (cluster-api
    cmd/clusterctl/client/cluster/components.go, providerComponents.Delete: "webhook ... should
    always be deleted"); every account's CAPA copy shares CAPA's two, capa-validating- and
    capa-mutating-webhook-configuration, pointed at whichever copy was applied last
    (cmd/clusterctl/client/repository/components.go, fixTargetNamespace).
    """
    if base.account_set is None or base.account_set.credentials != OPERATOR:
        return {}
    return {
        layout.overlay(a.name): (
            f"; operator mode: InfrastructureProvider {provider_name(a)} in namespace "
            f"{provider_namespace(a)} still runs CAPA with the account's keys. Do not "
            "`kubectl delete` it as is: the operator's delete removes the CAPA webhook "
            "configurations every other account uses. Repoint them if they name "
            f"{provider_namespace(a)}, remove the provider's finalizer, then delete it, its "
            f"namespace and ClusterRole(Binding) {provider_namespace(a)}-manager-role(binding), "
            "and the account's access key (docs/operator-mode.md, Removing an account)"
        )
        for a in base.account_set.accounts
    }


def _deleting_policy(flux: Obj | None) -> str | None:
    """The deletionPolicy under which deleting this Flux Kustomization deletes what it applied,
    or None when it orphans it. The default, MirrorPrune, follows `prune` (Flux Kustomization
    API, `.spec.deletionPolicy`)."""
    if flux is None:
        return None
    policy = str(flux.get("spec", "deletionPolicy") or "MirrorPrune")
    deletes = policy in ("Delete", "WaitForTermination") or (
        policy == "MirrorPrune" and flux.get("spec", "prune") is True
    )
    return policy if deletes else None


def _remaining_file(root: Path, overlay: str, flux: Obj | None) -> str:
    """The working-tree file that carries the finding: the Flux Kustomization that applied the
    overlay if it is still there, else the first YAML file left beside it (the other Flux
    Kustomizations) or above the overlay."""
    if flux is not None and (root / flux.file).is_file():
        return flux.file
    starts = ([Path(flux.file).parent] if flux is not None else []) + [Path(overlay).parent]
    for start in starts:
        for directory in (start, *start.parents):
            if (root / directory).is_dir():
                files = sorted(
                    p
                    for p in (root / directory).iterdir()
                    if p.suffix in (".yaml", ".yml") and p.is_file()
                )
                if files:
                    return files[0].relative_to(root).as_posix()
    return flux.file if flux is not None else f"{overlay}/kustomization.yaml"


def _present_overlays(ctx: Context, flux_paths: Iterable[str]) -> set[str]:
    """Overlays of the working tree: kustomization directories, and the directories Flux
    Kustomization paths name that exist (Flux builds a directory without kustomization.yaml
    too). A path whose directory is gone is an overlay deleted by hand (CAPA-R003 as well)."""
    return set(ctx.loaded.kustomization_dirs) | {p for p in flux_paths if (ctx.root / p).is_dir()}


@rule("CAPA-D005", change_aware=True, name="ClusterRemovedUnacknowledged")
def check_removed_cluster(ctx: Context, report: Reporter) -> None:
    """(--base) A cluster left an account unacknowledged: Flux prunes it, CAPA deletes it in AWS.

    Why: render's Flux Kustomizations set `prune: true`, the garbage collection of objects that
    leave the source (Flux Kustomization API, `.spec.prune`): the cluster's objects are
    deleted from the management cluster, and a deleted CAPI `Cluster` takes its control plane
    and infrastructure with it, for which CAPA deletes the EKS cluster and its node groups in
    AWS. Unlike a removed account (CAPA-D004: orphaned, left running), nothing of it stays; a
    renamed cluster is CAPA-D002. An overlay whose Flux Kustomization does not prune keeps it.
    `clusters:` replaces an account's default cluster (named like the account): a list that
    does not name it deletes that cluster too. An error unless the cluster stays listed with
    `decommissioning: true`, or the whole account is `decommissioning: true`: then a warning,
    so the commit still shows which EKS cluster CAPA deletes. Without accounts.yaml, the
    overlay's Flux Kustomization acknowledges with the annotation
    `capa-accounts.dev/decommission: "blue"` (cluster names, comma-separated).

    Bad: removing `- name: blue` from an account's `clusters:` while blue runs workloads.

    Good (move the workloads off blue first; the entry can go in a later commit):
        clusters:
          - name: green
          - name: blue
            decommissioning: true

    Fix: put the cluster back, or keep it listed with `decommissioning: true`.
    """
    base = base_of(ctx)
    pruning = {path: obj.get("spec", "prune") is True for obj, path in flux_kustomizations(ctx)}
    # Hand-written repositories (no accounts.yaml) acknowledge on the Flux Kustomization.
    annotated = {path: _annotated(obj) for obj, path in flux_kustomizations(ctx)}
    present = _present_overlays(ctx, pruning)
    now = {(c.source.overlay, c.name) for c in ctx.applied("Cluster", CAPI_GROUP)}
    renamed = {id(old) for old, _new in renames(ctx, base)}
    for old in base.applied("Cluster", CAPI_GROUP):
        overlay = old.source.overlay
        if (
            not overlay
            or overlay not in present
            or (overlay, old.name) in now
            or id(old) in renamed
            or not pruning.get(overlay, True)
        ):
            continue
        eks = sorted(
            eks_name(cp)
            for cp in base.control_planes()
            if cp.source.overlay == overlay and cluster_names(base).get(id(cp)) == old.name
        )
        account = ctx.accounts_by_overlay.get(overlay)
        where = f"AWS account {account.account_id}" if account else "AWS"
        flux = "Flux prunes its objects and" if overlay in pruning else "if Flux prunes them,"
        message = (
            f"Cluster {shown(old)} left {overlay} (present at {ctx.base_ref}): {flux} "
            f"CAPA deletes EKS cluster {', '.join(map(repr, eks)) or '?'} in {where}"
        )
        meant = (
            (account.decommissioning or old.name in account.decommissioned)
            if account is not None
            else old.name in annotated.get(overlay, ())
        )
        if meant and account is None:
            message += f" (listed in the {DECOMMISSION} annotation of its Flux Kustomization)"
        elif meant and account is not None:
            why = "the account is" if account.decommissioning else "the cluster is listed"
            message += f" ({why} `decommissioning: true`)"
        elif account is not None:
            replaced = old.name == account.name and _lists_clusters(ctx, account.index)
            message += (
                f"; `clusters:` replaces the account's default cluster {account.name!r}: list it"
                if replaced
                else "; put it back"
            ) + (
                f", or keep it listed as `- name: {old.name}` with `decommissioning: true` "
                "if its deletion is meant"
            )
        else:
            message += (
                f"; put it back, or name it in the annotation {DECOMMISSION} of the "
                "overlay's Flux Kustomization if its deletion is meant"
            )
        severity: Severity = "warning" if meant else "error"
        if account is not None:
            report.config(
                ("spec", "accounts", account.index, "clusters"),
                message,
                at_key=True,
                severity=severity,
            )
        else:
            report.raw(
                Finding(report.rule, severity, f"{overlay}/kustomization.yaml", 1, 1, message)
            )


def _annotated(flux: Obj) -> set[str]:
    annotations = flux.get("metadata", "annotations")
    value = annotations.get(DECOMMISSION) if isinstance(annotations, dict) else None
    return {n.strip() for n in value.split(",") if n.strip()} if isinstance(value, str) else set()


def _lists_clusters(ctx: Context, index: int) -> bool:
    doc = ctx.account_set.document if ctx.account_set else None
    entry = doc.data["spec"]["accounts"][index] if doc else None
    return isinstance(entry, dict) and "clusters" in entry

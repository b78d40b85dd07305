"""Removals against a git ref (CAPA-D004, D005): what Flux and CAPA do when an account or a
cluster leaves the repository.

A removed account orphans its clusters (render's Flux Kustomizations set `deletionPolicy:
Orphan`); a cluster removed from an account that stays is pruned by Flux, and CAPA deletes it
in AWS. Both are how decommissioning ends, so both are warnings: reminders, not refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from capa_accounts.hooks.context import Context, Obj
from capa_accounts.hooks.finding import Finding
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.changes import base_of, cluster_names, cluster_related, eks_name, renames, shown
from capa_accounts.hooks.rules.rendering import flux_kustomizations
from capa_accounts.core.resources import CAPI_GROUP


@rule("CAPA-D004", "warning", change_aware=True)
def check_removed_account(ctx: Context, report: Reporter) -> None:
    """(--base) An account was removed: its clusters are orphaned, not deleted.

    Why: render's Flux Kustomizations use `deletionPolicy: Orphan`, so when an account leaves
    accounts.yaml (or its overlay and Flux Kustomization go), Flux deletes nothing: the EKS
    clusters keep running and billing in AWS, and nothing reconciles them any more (with
    Flux's default policy and `prune: true` they would be deleted instead). Compared by
    account name when accounts.yaml exists at both, else by overlay and Flux path.

    Bad: deleting `- name: live` from accounts.yaml while `live` still runs clusters.

    Good: decommission first (delete the account's clusters and let CAPA remove them), then
    remove the account.

    Fix: put the account back, decommission its clusters, then remove it.
    """
    base = base_of(ctx)
    flux_then = {path: obj for obj, path in flux_kustomizations(base)}
    gone: list[tuple[str, str]] = []  # (overlay at REF, how it is named in the message)
    if ctx.account_set and base.account_set:
        now = {a.name for a in ctx.account_set.accounts}
        gone = [(f"overlays/{a.name}", f"account {a.name!r} (AWS account {a.account_id})")
                for a in base.account_set.accounts if a.name not in now]
    present = _present_overlays(ctx, (path for _obj, path in flux_kustomizations(ctx)))
    named = {overlay for overlay, _ in gone}
    for overlay in sorted({o.source.overlay for o in base.objects
                           if o.source.overlay and cluster_related(o)}):
        if overlay not in present and overlay not in named:
            gone.append((overlay, f"overlay {overlay}"))
    for overlay, what in gone:
        clusters = sorted(o.name for o in base.objects
                          if o.source.overlay == overlay and o.kind == "Cluster")
        flux = flux_then.get(overlay)
        policy = _deleting_policy(flux)
        fate = (f"are deleted by Flux (deletionPolicy {policy})" if policy
                else "keep running in AWS, unmanaged")
        message = (f"{what} was removed (present at {ctx.base_ref}): its clusters "
                   f"({', '.join(clusters) or 'none declared'}) {fate}; decommission them "
                   "first, then remove the account")
        if ctx.account_set:
            report.config(("spec", "accounts"), message, at_key=True)
        else:
            report.raw(Finding(report.rule, report.severity,
                               _remaining_file(ctx.root, overlay, flux), 1, 1, message))


def _deleting_policy(flux: Obj | None) -> str | None:
    """The deletionPolicy under which deleting this Flux Kustomization deletes what it applied,
    or None when it orphans it. The default, MirrorPrune, follows `prune` (Flux Kustomization
    API, `.spec.deletionPolicy`)."""
    if flux is None:
        return None
    policy = str(flux.get("spec", "deletionPolicy") or "MirrorPrune")
    deletes = policy in ("Delete", "WaitForTermination") or (
        policy == "MirrorPrune" and flux.get("spec", "prune") is True)
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
                files = sorted(p for p in (root / directory).iterdir()
                               if p.suffix in (".yaml", ".yml") and p.is_file())
                if files:
                    return files[0].relative_to(root).as_posix()
    return flux.file if flux is not None else f"{overlay}/kustomization.yaml"


def _present_overlays(ctx: Context, flux_paths: Iterable[str]) -> set[str]:
    """Overlays of the working tree: kustomization directories and Flux Kustomization paths."""
    return set(ctx.loaded.kustomization_dirs) | set(flux_paths)


@rule("CAPA-D005", "warning", change_aware=True)
def check_removed_cluster(ctx: Context, report: Reporter) -> None:
    """(--base) A cluster left an account that stays: Flux prunes it, CAPA deletes it in AWS.

    Why: render's Flux Kustomizations set `prune: true`, the garbage collection of objects that
    leave the source (Flux Kustomization API, `.spec.prune`): the cluster's objects are
    deleted from the management cluster, and a deleted CAPI `Cluster` takes its control plane
    and infrastructure with it, for which CAPA deletes the EKS cluster and its node groups in
    AWS. Unlike a removed account (CAPA-D004: orphaned, left running), nothing of it stays; a
    renamed cluster is CAPA-D002. An overlay whose Flux Kustomization does not prune keeps it.

    Bad: removing `- name: blue` from an account's `clusters:` while blue runs workloads.

    Good: move the workloads off blue first, then remove it, knowing CAPA deletes it.

    Fix: put the cluster back unless its deletion is meant.
    """
    base = base_of(ctx)
    pruning = {path: obj.get("spec", "prune") is True for obj, path in flux_kustomizations(ctx)}
    present = _present_overlays(ctx, pruning)
    now = {(c.source.overlay, c.name) for c in ctx.applied("Cluster", CAPI_GROUP)}
    renamed = {id(old) for old, _new in renames(ctx, base)}
    names = cluster_names(base)
    for old in base.applied("Cluster", CAPI_GROUP):
        overlay = old.source.overlay
        if (not overlay or overlay not in present or (overlay, old.name) in now
                or id(old) in renamed or not pruning.get(overlay, True)):
            continue
        eks = sorted(eks_name(cp) for cp in base.control_planes()
                     if cp.source.overlay == overlay and names.get(id(cp)) == old.name)
        account = ctx.accounts_by_overlay.get(overlay)
        where = f"AWS account {account.account_id}" if account else "AWS"
        flux = "Flux prunes its objects and" if overlay in pruning else "if Flux prunes them,"
        message = (f"Cluster {shown(old)} left {overlay} (present at {ctx.base_ref}): {flux} "
                   f"CAPA deletes EKS cluster {', '.join(map(repr, eks)) or '?'} in {where}; "
                   "put it back unless that is meant")
        if account is not None:
            report.config(("spec", "accounts", account.index, "clusters"), message, at_key=True)
        else:
            report.raw(Finding(report.rule, report.severity, f"{overlay}/kustomization.yaml", 1,
                               1, message))

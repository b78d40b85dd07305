"""Clusters (CAPA-C005 … C008, C010): region and version as declared, objects together, EKS names.

This module owns the question "does the cluster that Flux applies match accounts.yaml, and do
its objects form one whole?": the control plane's region and Kubernetes version against the
account's (or the cluster's) declaration, and a Cluster's objects in one namespace with no
dangling reference; and a cluster name EKS accepts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from capa_accounts.core import regions
from capa_accounts.core.aws import EKS_CLUSTER_NAME, EKS_CLUSTER_NAME_MAX
from capa_accounts.core.finding import Location
from capa_accounts.core.model import Account, Cluster
from capa_accounts.core.resources import (
    AWS_CLUSTER,
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    INFRA_GROUP,
    group_of,
)
from capa_accounts.core.substitution import templated
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.hooks.rules.controlplanes import namespace_of
from capa_accounts.hooks.rules.controlplanes import where as _where

# spec.version: controlplane/eks/api/v1beta2/awsmanagedcontrolplane_types.go:70-73
VERSION_PATTERN = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.?(\.0|[1-9][0-9]*)?$")


def _clusters_by_control_plane(ctx: Context) -> dict[tuple[str, str], str]:
    """(namespace, control plane name) → name of the Cluster whose controlPlaneRef names it."""
    out: dict[tuple[str, str], str] = {}
    for cluster in ctx.applied("Cluster", CAPI_GROUP):
        ref = cluster.get("spec", "controlPlaneRef")
        if isinstance(ref, dict) and ref.get("name"):
            out.setdefault((cluster.namespace, str(ref["name"])), cluster.name)
    return out


def _declared(
    ctx: Context, cp: Obj, clusters: dict[tuple[str, str], str], key: str
) -> tuple[Account, str, Location, str] | None:
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


@rule("CAPA-C005", name="RegionMismatch")
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
        report.at(
            cp,
            ("spec", "region") if value else ("spec",),
            f"control plane has {what}, but accounts.yaml declares {region!r} for cluster "
            f"{cluster!r} of account {account.name!r} ({where.file}:{where.line})",
            at_key=not value,
            related=(where,),
        )


def _minor(version: str) -> tuple[str, str] | None:
    match = VERSION_PATTERN.fullmatch(version)
    return (match.group(1), match.group(2)) if match else None


@rule("CAPA-C006", name="KubernetesVersionMismatch")
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
        version: "1.35"

    Fix: set kubernetesVersion (quoted) in accounts.yaml and run `capa-accounts render`.
    """
    clusters = _clusters_by_control_plane(ctx)
    for cp in ctx.control_planes():
        value = cp.get("spec", "version")
        if templated(value):
            continue  # a template's ${KUBERNETES_VERSION}: judged once substituted
        if value is not None and not isinstance(value, str):
            report.at(
                cp,
                ("spec", "version"),
                f"version {value!r} is not a string: quote it (YAML reads 1.30 as the number 1.3)",
            )
            continue
        if value is not None and _minor(value) is None:
            report.at(
                cp,
                ("spec", "version"),
                f"version {value!r} does not match the CRD "
                "pattern (major.minor[.patch], optional leading v)",
            )
            continue
        declared = _declared(ctx, cp, clusters, "kubernetesVersion")
        if declared is None:
            continue
        account, cluster, where, version = declared
        want = _minor(version)
        if value is not None and want is not None and _minor(value) == want:
            continue
        what = f"version {value!r}" if value else "no version (EKS picks its default)"
        report.at(
            cp,
            ("spec", "version") if value else ("spec",),
            f"control plane has {what}, but accounts.yaml declares kubernetesVersion "
            f"{version!r} for cluster {cluster!r} of account {account.name!r} "
            f"({where.file}:{where.line})",
            at_key=not value,
            related=(where,),
        )


def _ref_target(ref: Any) -> tuple[str | None, str, str, str | None] | None:
    """(group or None, kind, name, namespace or None) of a v1beta1 or v1beta2 reference."""
    if not isinstance(ref, dict) or not ref.get("kind") or not ref.get("name"):
        return None
    group = ref.get("apiGroup") or (group_of(ref["apiVersion"]) if ref.get("apiVersion") else None)
    namespace = ref.get("namespace")
    return group, str(ref["kind"]), str(ref["name"]), str(namespace) if namespace else None


@rule("CAPA-C007", name="ClusterObjectsApart")
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
            report.at(
                holder,
                (*path, "namespace"),
                f"{what} names namespace {ref_ns!r}, but "
                f"{holder.kind} {holder.name!r} is in {home!r}: a Cluster's objects "
                "must share one namespace",
            )
            return
        if any(namespace_of(o) == home for o in candidates):
            return
        if candidates:
            other = candidates[0]
            meta: PathT = ("metadata", "namespace") if other.namespace else ("metadata", "name")
            report.at(
                other,
                meta,
                f"{kind} {name!r} is in namespace {namespace_of(other)!r}, "
                f"but {holder.kind} {holder.name!r} ({_where(holder, path)}) refers to it "
                f"from {home!r}: a Cluster's objects must share one namespace",
                related=(holder.location((*path, "name")),),
            )
        else:
            report.unseen(
                holder,
                (*path, "name"),
                f"{what} names {kind} {name!r}, which {ctx.whole} does not apply in "
                f"namespace {home!r}",
            )

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
                report.at(
                    pool,
                    path,
                    f"MachinePool {pool.name!r} is in namespace "
                    f"{namespace_of(pool)!r}, but its Cluster {cluster_name!r} is in "
                    f"{namespace_of(elsewhere[0])!r} "
                    f"({_where(elsewhere[0], ('metadata', 'namespace'))}): a "
                    "Cluster's objects must share one namespace",
                    related=(elsewhere[0].location(("metadata", "namespace")),),
                )
            continue
        resolve(pool, ("spec", "template", "spec", "infrastructureRef"), "infrastructureRef")


@rule("CAPA-C008", name="InvalidEksClusterName")
def check_eks_cluster_name(ctx: Context, report: Reporter) -> None:
    """`eksClusterName` is a name EKS refuses: other characters, or longer than 100.

    Why: CAPA passes `eksClusterName` to EKS CreateCluster unchecked (the CRD has no pattern;
    controlplane/eks/api/v1beta2/awsmanagedcontrolplane_types.go), and EKS accepts only
    alphanumerics, `-` and `_`, starting with an alphanumeric, at most 100 characters (Amazon
    EKS API Reference, CreateCluster `name`: `^[0-9A-Za-z][A-Za-z0-9\\-_]*`). The field is
    immutable once set (awsmanagedcontrolplane_webhook.go:220-227), so the cluster can never
    be created under that object. Left empty, CAPA derives a valid name itself.

    Bad:
        eksClusterName: staging.eu-west-1

    Good:
        eksClusterName: staging-eu-west-1

    Fix: use only letters, digits, `-` and `_`, starting with a letter or digit.
    """
    for cp in ctx.control_planes():
        name = cp.get("spec", "eksClusterName")
        if not isinstance(name, str) or not name:
            continue
        if len(name) > EKS_CLUSTER_NAME_MAX:
            why = f"is {len(name)} characters, above EKS's {EKS_CLUSTER_NAME_MAX}"
        elif not re.fullmatch(EKS_CLUSTER_NAME, name):
            why = (
                "has characters EKS refuses (only letters, digits, - and _, starting with a "
                "letter or digit)"
            )
        else:
            continue
        report.at(
            cp,
            ("spec", "eksClusterName"),
            f"eksClusterName {name!r} {why}: EKS "
            "CreateCluster rejects it, and the field is immutable once set",
        )


@rule("CAPA-C010", name="RegionNotInPartition")
def check_real_region(ctx: Context, report: Reporter) -> None:
    """A control plane's or AWSCluster's region is not a region of its partition.

    Why: the CRDs accept any string as spec.region, so a typo such as `eu-wset-1` is applied
    and fails only when CAPA calls CreateCluster (EKS) or EC2 in that region, after the pull
    request is merged. The region list is the AWS SDKs' partitions file, as of the date in
    `capa_accounts/core/regions.py`; an object of a declared account is judged against that
    account's partition, any other against every partition.

    Bad:
        region: eu-wset-1

    Good:
        region: eu-west-1

    Fix: correct the region (in accounts.yaml for a rendered overlay, then run
    `capa-accounts render`); for a region launched after the table's date, upgrade
    capa-accounts.
    """
    users = [*ctx.control_planes(), *ctx.applied(AWS_CLUSTER, INFRA_GROUP)]
    for obj in users:
        value = obj.get("spec", "region")
        if value is None or templated(value):  # ${AWS_REGION}: judged once substituted
            continue
        account = ctx.account_of(obj)
        why = regions.refusal(value, account.partition if account else None)
        if why:
            report.at(obj, ("spec", "region"), why)

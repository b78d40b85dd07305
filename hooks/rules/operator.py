"""Operator mode (CAPA-O001 … O004): does each account's CAPA copy reconcile only its own clusters?

In operator mode (`spec.credentials: operator`, or a hand-written repository with per-account
CAPI Operator `InfrastructureProvider`s) every account runs its own CAPA with that account's
static keys. This module owns the question "can the operator install each copy, and does each
copy see exactly its account's clusters?": the `configSecret`, the `--watch-filter` argument as
the operator passes it, the watch-filter label on the clusters, the operator's preflight on
provider names, and a warning that the mode is in use at all.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from capa_accounts.core.model import OPERATOR, Account
from capa_accounts.core.record import Record
from capa_accounts.core.resources import WATCH_FILTER_LABEL
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.rules import Reporter, rule
from capa_accounts.kustomize_plugin.operator_mode import (
    OPERATOR_GROUP,
    PREDEFINED_INFRASTRUCTURE,
    PROVIDER_KIND,
    WATCH_FILTER_ARG,
    WATCHED_KINDS,
    is_valid_label_value,
    provider_name,
    provider_namespace,
)

FLAG = WATCH_FILTER_ARG.lstrip("-")
LABEL_PATH = ("metadata", "labels", WATCH_FILTER_LABEL)


class Arg(Record):
    """One watch-filter argument as written: where its key is, the key and the value."""

    FIELDS = ("path", "key", "value")
    path: PathT
    key: str
    value: Any

    def __init__(self, path: PathT, key: str, value: Any) -> None:
        set_ = object.__setattr__
        set_(self, "path", path)
        set_(self, "key", key)
        set_(self, "value", value)


def providers(ctx: Context) -> list[Obj]:
    """Every InfrastructureProvider the repository applies, in file order."""
    found = ctx.applied(PROVIDER_KIND, OPERATOR_GROUP)
    return sorted(found, key=lambda o: (o.file, o.doc.node.start_mark.line))


def is_aws(obj: Obj) -> bool:
    url = str(obj.get("spec", "fetchConfig", "url") or obj.get("spec", "fetchConfig", "oci") or "")
    return obj.name == "aws" or obj.name.startswith("aws-") or "cluster-api-provider-aws" in url


def watch_filter_args(obj: Obj) -> list[Arg]:
    """Watch-filter arguments in any spelling: the manager's and the `manager` container's.

    Both maps end up as "key=value" container args (component_customizer.go, setArgs);
    `manager.additionalArgs` is applied last and wins.
    """
    out: list[Arg] = []
    places: list[tuple[PathT, Any]] = [
        (("spec", "manager", "additionalArgs"), obj.get("spec", "manager", "additionalArgs"))
    ]
    containers = obj.get("spec", "deployment", "containers")
    for i, container in enumerate(containers if isinstance(containers, list) else []):
        if isinstance(container, dict) and container.get("name") == "manager":
            places.append((("spec", "deployment", "containers", i, "args"), container.get("args")))
    for path, args in places:
        for key, value in args.items() if isinstance(args, dict) else ():
            if str(key).lstrip("-") == FLAG:
                out.append(Arg((*path, key), str(key), value))
    return out


def effective_filter(obj: Obj) -> Arg | None:
    """The `--watch-filter` CAPA actually receives, if any."""
    return next((a for a in watch_filter_args(obj) if a.key == WATCH_FILTER_ARG), None)


def operator_mode(ctx: Context) -> bool:
    """accounts.yaml decides; without it, per-account AWS providers mean the mode is in use.

    A single provider named `aws` without a watch filter is an ordinary CAPA installed
    through the operator, not this mode.
    """
    if ctx.account_set is not None:
        return ctx.account_set.credentials == OPERATOR
    aws = [p for p in providers(ctx) if is_aws(p)]
    return len(aws) > 1 or any(p.name != "aws" or watch_filter_args(p) for p in aws)


def _where(obj: Obj, path: PathT = ()) -> str:
    loc = obj.location(path)
    return f"{loc.file}:{loc.line}"


@rule("CAPA-O001", name="ProviderUnfiltered")
def check_provider_isolation(ctx: Context, report: Reporter) -> None:
    """An operator InfrastructureProvider lacks `configSecret` or a `--watch-filter` argument.

    Why: in operator mode each account's CAPA copy must run with that account's keys (the
    operator reads them from `configSecret`, a Secret beside the provider) and reconcile only
    the clusters labelled `cluster.x-k8s.io/watch-filter: <value>`. Without a watch filter, or
    with an empty one, CAPA watches every cluster (CAPA main.go, `--watch-filter`: "If
    unspecified, the controller watches for all cluster-api objects") and reconciles the
    other accounts' clusters with this account's keys. Only AWS providers in operator mode are
    checked: a single `aws` provider is an ordinary CAPA installed through the operator.

    Bad:
        kind: InfrastructureProvider
        metadata: {name: aws-staging, namespace: capa-staging}
        spec:
          version: v2.11.1

    Good:
        spec:
          configSecret: {name: staging-credentials, namespace: capa-staging}
          manager:
            additionalArgs: {"--watch-filter": staging}

    Fix: run `capa-accounts render` (credentials: operator); by hand, add both.
    """
    if not operator_mode(ctx):
        return
    for obj in (p for p in providers(ctx) if is_aws(p)):
        anchor: PathT = ("spec",) if obj.has("spec") else ("kind",)
        if not obj.get("spec", "configSecret", "name"):
            report.at(
                obj,
                anchor,
                f"InfrastructureProvider {obj.name!r} has no configSecret: "
                "its CAPA gets no account keys of its own",
                at_key=anchor == ("spec",),
            )
        args = watch_filter_args(obj)
        current = effective_filter(obj)
        if not args:
            report.at(
                obj,
                anchor,
                f"InfrastructureProvider {obj.name!r} has no "
                f"`{WATCH_FILTER_ARG}` argument (spec.manager.additionalArgs): its CAPA "
                "reconciles every cluster, the other accounts' too, with this account's "
                "keys",
                at_key=anchor == ("spec",),
            )
        elif current is not None and current.value in ("", None):
            report.at(
                obj,
                current.path,
                f"`{WATCH_FILTER_ARG}` of {obj.name!r} is empty, "
                "which turns the filter off: its CAPA reconciles every cluster with this "
                "account's keys",
            )


def _account_of(ctx: Context, obj: Obj) -> Account | None:
    for account in ctx.account_set.accounts if ctx.account_set else ():
        if obj.namespace == provider_namespace(account) or obj.name == provider_name(account):
            return account
    return None


def _cluster_namespaces(ctx: Context, obj: Obj, value: str) -> set[str]:
    """Where the provider's account keeps its clusters.

    Rendered: the account's namespace. Hand-written: a namespace named like the provider's
    account (`capa-<x>` or `aws-<x>` → `x`) or like the filter value, holding cluster objects.
    """
    account = _account_of(ctx, obj)
    if account is not None:
        return {account.namespace}
    guesses = {value}
    for name, prefix in ((obj.namespace, "capa-"), (obj.name, "aws-")):
        if name.startswith(prefix):
            guesses.add(name[len(prefix) :])
    return guesses & {o.namespace for o in _watched(ctx)}


def _watched(ctx: Context) -> Iterator[Obj]:
    for obj in ctx.objects:
        if (obj.id.group, obj.kind) in WATCHED_KINDS:
            yield obj


def _arg_problems(obj: Obj, arg: Arg) -> Iterator[tuple[PathT, bool, str]]:
    if arg.key != WATCH_FILTER_ARG:
        effect = (
            "pflag reads it as shorthand flags and the manager exits"
            if arg.key.startswith("-")
            else "it becomes a positional argument the manager ignores, so this provider "
            "reconciles every cluster with this account's keys"
        )
        yield (
            arg.path,
            True,
            f"watch-filter argument {arg.key!r} of {obj.name!r} lacks `--`: "
            f"the operator passes the key verbatim ({arg.key}={arg.value}), and {effect}; "
            f"write `{WATCH_FILTER_ARG}`",
        )
    if not isinstance(arg.value, str) or not is_valid_label_value(arg.value):
        effect = (
            "matches nothing: the provider reconciles no cluster"
            if arg.key == WATCH_FILTER_ARG
            else "would match nothing even with `--`"
        )
        yield (
            arg.path,
            False,
            f"watch-filter value {arg.value!r} of {obj.name!r} is not a "
            f"valid label value, so no object can carry it as {WATCH_FILTER_LABEL}: it "
            f"{effect}; use a plain value such as the account name",
        )


@rule("CAPA-O002", name="WatchFilterInvalid")
def check_watch_filter(ctx: Context, report: Reporter) -> None:
    """A watch-filter argument lacks `--`, its value is not a label value, or the clusters lack it.

    Why: the operator copies each `additionalArgs` key verbatim as "key=value"
    (cluster-api-operator internal/controller/component_customizer.go, setArgs), so
    `watch-filter: env=staging` becomes the positional argument `watch-filter=env=staging`,
    which the manager ignores: that provider reconciles every cluster with this account's keys.
    CAPA's `--watch-filter` is a label value compared with the label
    `cluster.x-k8s.io/watch-filter` (CAPA main.go; cluster-api util/predicates): `env=staging`
    is no label value (at most 63 of `[-A-Za-z0-9_.]`, alphanumeric at both ends), so it
    matches nothing. And a cluster object (Cluster, AWSCluster, AWSManagedCluster,
    AWSManagedControlPlane, MachinePool, AWSManagedMachinePool, ...) in the account's namespace
    without the label is reconciled by no provider; with another account's value, that
    account's provider reconciles it with its own keys.

    Bad:
        manager:
          additionalArgs:
            watch-filter: "env=staging"

    Good:
        manager:
          additionalArgs:
            "--watch-filter": staging   # and label cluster.x-k8s.io/watch-filter: staging

    Fix: run `capa-accounts render` (credentials: operator); by hand, write `--watch-filter`
    with the account name and put that label on every cluster object of the account.
    """
    # Which provider reconciles each filter value: a label naming another account's value hands
    # the object to that account's CAPA, with that account's keys.
    by_value: dict[str, Obj] = {}
    for obj in (p for p in providers(ctx) if is_aws(p)):
        found = effective_filter(obj)
        if found is not None and isinstance(found.value, str) and found.value:
            by_value.setdefault(found.value, obj)
    for obj in (p for p in providers(ctx) if is_aws(p)):
        for arg in watch_filter_args(obj):
            for path, at_key, message in _arg_problems(obj, arg):
                report.at(obj, path, message, at_key=at_key)
        current = effective_filter(obj)
        if (
            current is None
            or not isinstance(current.value, str)
            or not current.value
            or not is_valid_label_value(current.value)
        ):
            continue
        value = current.value
        namespaces = _cluster_namespaces(ctx, obj, value)
        for cluster in (o for o in _watched(ctx) if o.namespace in namespaces):
            labels = cluster.get("metadata", "labels")
            have = labels.get(WATCH_FILTER_LABEL) if isinstance(labels, dict) else None
            if have == value:
                continue
            shown = "no label" if have is None else f"label value {have!r}"
            path = (
                LABEL_PATH
                if have is not None
                else (("metadata", "labels") if isinstance(labels, dict) else ("metadata",))
            )
            other = by_value.get(have) if isinstance(have, str) else None
            effect = (
                f"provider {other.name!r} ({_where(other)}) reconciles it instead, with "
                "another account's keys"
                if other is not None and other is not obj
                else "no provider reconciles it"
            )
            report.at(
                cluster,
                path,
                f"{cluster.kind} {cluster.name!r} has {shown} "
                f"{WATCH_FILTER_LABEL}, but provider {obj.name!r} of its account "
                f"({_where(obj, current.path)}) reconciles only {value!r}: {effect}; "
                f"label it {WATCH_FILTER_LABEL}: {value}",
                at_key=have is None,
                related=(obj.location(current.path),),
            )


def _github_url_problem(url: str) -> str | None:
    """clusterctl's NewGitHubRepository needs /owner/repo/releases/<tag>/<file>."""
    parsed = urlparse(url)
    if parsed.hostname != "github.com":
        return None
    parts = [p for p in posixpath.normpath(parsed.path).split("/") if p]
    if len(parts) >= 5 and parts[2] == "releases":
        return None
    return (
        f"fetchConfig.url {url!r} is not of the form https://github.com/<owner>/<repo>/"
        "releases/<version>/<components file>, the only one clusterctl's GitHub repository "
        "accepts (cluster-api cmd/clusterctl/client/repository/repository_github.go), "
        "although the CRD's description shows .../releases"
    )


@rule("CAPA-O003", name="ProviderNameUnfetchable")
def check_provider_names(ctx: Context, report: Reporter) -> None:
    """A provider name that is not predefined has no `fetchConfig`, or two providers share a name.

    Why: the operator's preflight refuses a provider whose name clusterctl does not know
    unless `fetchConfig` says where its components are (cluster-api-operator
    internal/controller/preflight_checks.go, isPredefinedProvider; the names are clusterctl's
    providers_client.go defaults, and for AWS only `aws` is one). Per-account providers must
    be named apart (`aws-staging`), because the same preflight refuses a second provider of
    one kind and name in any namespace. A `fetchConfig.url` on github.com must name the
    components file of a release: clusterctl rejects `.../releases` alone.

    Bad:
        kind: InfrastructureProvider
        metadata: {name: aws-staging}
        spec: {version: v2.11.1}

    Good:
        spec:
          version: v2.11.1
          fetchConfig:
            url: https://github.com/kubernetes-sigs/cluster-api-provider-aws/releases/v2.11.1/infrastructure-components.yaml

    Fix: run `capa-accounts render` (credentials: operator); by hand, add fetchConfig.url with
    the release's components URL and give every provider its own name.
    """
    by_name: dict[str, list[Obj]] = defaultdict(list)
    for obj in providers(ctx):
        by_name[obj.name].append(obj)
        fetch = obj.get("spec", "fetchConfig")
        fetch = fetch if isinstance(fetch, dict) else {}
        if obj.name not in PREDEFINED_INFRASTRUCTURE and not any(
            fetch.get(k) for k in ("url", "oci", "selector")
        ):
            report.at(
                obj,
                ("metadata", "name"),
                f"InfrastructureProvider {obj.name!r} is not a "
                "predefined provider name and has no fetchConfig: the operator's "
                'preflight refuses it ("Either Selector, OCI URL or provider URL must be '
                'provided for a not predefined provider")',
            )
        url = fetch.get("url")
        problem = _github_url_problem(url) if isinstance(url, str) else None
        if problem:
            report.at(obj, ("spec", "fetchConfig", "url"), problem)
    for name, objs in by_name.items():
        first = objs[0]
        for obj in objs[1:]:
            if obj.id == first.id:
                continue  # the same object twice is CAPA-X002's
            report.at(
                obj,
                ("metadata", "name"),
                f"another InfrastructureProvider is named "
                f"{name!r} ({_where(first, ('metadata', 'name'))}, namespace "
                f"{first.namespace or 'default'!r}): the operator's preflight allows one "
                "provider of a kind and name in the whole cluster",
                related=(first.location(("metadata", "name")),),
            )


@rule("CAPA-O004", "warning", name="OperatorMode")
def check_operator_mode(ctx: Context, report: Reporter) -> None:
    """Operator mode is in use: long-lived keys, and several copies of one provider.

    Why: every account's CAPA runs with static access keys of an IAM user (its configSecret):
    keys that never expire, must be rotated by hand and work outside the cluster for anyone
    who reads them. And the copies install the same cluster-wide CRDs and webhook
    configurations, each pointing at its own namespace, so the last one installed or upgraded
    serves every account's conversions and webhooks; running one provider several times with
    watch filters is not a supported CAPA setup. Role identities need neither: one CAPA,
    short-lived STS sessions per account.

    Bad:
        spec:
          credentials: operator

    Good:
        spec:
          credentials: roleIdentity

    Fix: prefer `credentials: roleIdentity`; if operator mode is required, suppress this
    warning with a reason and keep every provider on the same version.
    """
    if not operator_mode(ctx):
        return
    message = (
        "operator mode: each account's CAPA runs with long-lived access keys, and the "
        "copies share cluster-wide CRDs and webhooks (the last installed serves all); "
        "role identities (credentials: roleIdentity) need neither"
    )
    if ctx.account_set is not None:
        report.config(("spec", "credentials"), message)
        return
    first = next((p for p in providers(ctx) if is_aws(p)), None)
    if first is not None:
        report.at(first, ("kind",), message)

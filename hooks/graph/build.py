"""Building the trust graph (``model.Graph``) from the objects ``check`` judges, following the
chain as CAPA does: principal, role, identity, namespace, control plane; in operator mode the
provider whose ``--watch-filter`` selects them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from capa_accounts.core import aws
from capa_accounts.core import iam_policy as iam
from capa_accounts.core.model import OPERATOR, Account
from capa_accounts.core.resources import (
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    IDENTITY_KINDS,
    ROLE_IDENTITY,
    WATCH_FILTER_LABEL,
)
from capa_accounts.hooks.check.chain import stacks
from capa_accounts.hooks.check.context import Context, Obj, PathT
from capa_accounts.hooks.graph.model import (
    ASSUME_ROLE,
    CLUSTER_KINDS,
    MANAGEMENT,
    NODE_KIND,
    PRINCIPAL,
    Graph,
)
from capa_accounts.hooks.graph.span import Span, doc_span, role_arn_line, spans_at
from capa_accounts.hooks.rules.controlplanes import admits, namespace_of
from capa_accounts.hooks.rules.identities import verdict
from capa_accounts.kustomize_plugin import operator_mode as operator


def build(ctx: Context) -> Graph:
    """The graph of a repository's objects, not yet marked with findings."""
    return Builder(ctx).build()


class Builder:
    """Follows the chain as CAPA does: principal, role, identity, namespace, control plane."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.graph = Graph()
        self.stacks = stacks(ctx)
        # Hand-written: whom the management stacks grant AssumeRole ("role/<name>", "user/...").
        self.granted = iam.Principal.of_management([m.data for m in self.stacks.management]).names
        self.declared = ctx.account_set.accounts if ctx.account_set else ()
        self.by_account_id: dict[str, Account] = {}
        for account in self.declared:
            self.by_account_id.setdefault(account.account_id, account)
        self.reconciled: set[str] = set()  # control planes an operator provider reconciles
        self._watched: dict[str | None, list[Obj]] | None = None

    def account_group(self, account: Account) -> str:
        key = f"account/{account.name}"
        self.graph.groups.setdefault(key, f"{account.name} \u00b7 AWS account {account.account_id}")
        return key

    def aws_group(self, account_id: str) -> str:
        """The box of an AWS account: the declared account with that ID, else the bare ID."""
        account = self.by_account_id.get(account_id)
        if account is not None:
            return self.account_group(account)
        self.graph.groups.setdefault(f"aws/{account_id}", f"AWS account {account_id}")
        return f"aws/{account_id}"

    def build(self) -> Graph:
        account_set = self.ctx.account_set
        management = account_set.management.account_id if account_set else self._trusted_id()
        self.graph.groups[MANAGEMENT] = (
            f"{MANAGEMENT} \u00b7 AWS account {management}"
            if management
            else f"{MANAGEMENT} account"
        )
        for account in self.declared:
            group = self.account_group(account)
            if account_set and account_set.credentials != OPERATOR:
                self.role(account.role_arn, group)
        for obj in sorted(self.ctx.identities(), key=lambda o: (o.kind, o.name)):
            self.identity(obj)
        self.providers()
        self.control_planes()
        self.principal()
        self.attach_objects()
        return self.graph

    def role(self, arn: str, group: str | None = None) -> str | None:
        parsed = iam.parse_role_arn(arn)
        if parsed is None:
            return None
        lines = ["IAM role", f"{parsed.path}{parsed.name}"]
        lines += [f"partition {parsed.partition}"] if parsed.partition != "aws" else []
        return self.graph.node(
            f"role/{arn}", "role", lines, group or self.aws_group(parsed.account)
        ).key

    def identity(self, obj: Obj) -> None:
        kind = NODE_KIND[obj.kind]
        key, group = f"{kind}/{obj.name}", MANAGEMENT if kind == "controller" else ""
        if kind == "identity":
            arn = iam.parse_role_arn(obj.get("spec", "roleARN"))
            account = self.ctx.account_of(obj) if self.ctx.account_set else None
            group = (
                self.account_group(account)
                if account
                else (self.aws_group(arn.account) if arn else "")
            )
        self.graph.node(key, kind, [obj.kind, obj.name], group).spans.append(doc_span(obj))
        if kind != "identity":
            return
        role = self.role(str(obj.get("spec", "roleARN")))
        if role is not None:
            self.graph.edge(role, key, "roleARN", spans=spans_at(obj.doc, ("spec", "roleARN")))
            self.graph.role_at[obj.file].append((role_arn_line(obj), role))
        source = _ref(obj.get("spec", "sourceIdentityRef"))
        if source is not None:
            spans = spans_at(obj.doc, ("spec", "sourceIdentityRef"))
            self.graph.edge(
                self.ref_node(*source, spans), key, "sourceIdentityRef", dashed=True, spans=spans
            )
        self.allowed(obj, key, group)

    def ref_node(self, kind: str, name: str, spans: list[Span]) -> str:
        """The node of an identity a reference names; a dangling one is drawn as missing."""
        if self.ctx.identity(kind, name) is not None:
            return f"{NODE_KIND[kind]}/{name}"
        node = self.graph.node(
            f"missing/{kind}/{name}",
            "missing",
            [f"missing {kind}", name],
            MANAGEMENT if kind == CONTROLLER_IDENTITY else "",
            missing=True,
        )
        node.spans.extend(spans)
        return node.key

    def allowed(self, obj: Obj, key: str, group: str) -> None:
        """Edges to what ``allowedNamespaces`` admits, as CAPA reads it (CAPA-I001..I004)."""
        path: PathT = ("spec", "allowedNamespaces")
        allowed = obj.get(*path)
        if verdict(allowed) == "all":
            self.graph.node("namespace/*", "everyone", ["every namespace"])
            self.graph.edge(key, "namespace/*", "allowedNamespaces", spans=spans_at(obj.doc, path))
        if verdict(allowed) != "some":
            return
        for i, name in enumerate(allowed.get("list") or ()):
            if isinstance(name, str):
                self.graph.edge(
                    key,
                    self.namespace(name),
                    "allowedNamespaces",
                    spans=spans_at(obj.doc, (*path, "list", i)),
                )
        selector = allowed.get("selector")
        if isinstance(selector, dict) and selector:
            target = self.graph.node(
                f"selector/{obj.name}",
                "selector",
                ["namespaces labelled", *_selector(selector)],
                group,
            ).key
            self.graph.edge(
                key, target, "allowedNamespaces", spans=spans_at(obj.doc, (*path, "selector"))
            )

    def namespace(self, name: str) -> str:
        account = self.ctx.accounts_by_namespace.get(name)
        return self.graph.node(
            f"namespace/{name}",
            "namespace",
            ["namespace", name],
            self.account_group(account) if account else "",
        ).key

    def providers(self) -> None:
        """Operator mode: each provider reconciles the clusters its watch filter selects."""
        by_name = {a.name: a for a in self.declared}
        by_provider = {operator.provider_name(a): a for a in self.declared}
        for obj in sorted(
            self.ctx.applied(operator.PROVIDER_KIND, operator.OPERATOR_GROUP),
            key=lambda o: (o.namespace, o.name),
        ):
            args = obj.get("spec", "manager", "additionalArgs")
            # The operator passes each key verbatim as "key=value" (cluster-api-operator
            # internal/controller/component_customizer.go): a "watch-filter" without "--" is
            # ignored by the manager, which then reconciles every cluster.
            value = args.get(operator.WATCH_FILTER_ARG) if isinstance(args, dict) else None
            account = (self.ctx.account_of(obj) if self.ctx.account_set else None) or (
                by_name.get(str(value)) or by_provider.get(obj.name)
            )
            secret = obj.get("spec", "configSecret", "name")
            key = f"provider/{obj.namespace}/{obj.name}"
            lines = [
                "InfrastructureProvider",
                f"{obj.namespace}/{obj.name}".lstrip("/"),
                f"secret {secret}" if secret else "no configSecret",
            ]
            node = self.graph.node(
                key, "provider", lines, self.account_group(account) if account else ""
            )
            node.spans.append(doc_span(obj))
            if account is not None and self.ctx.account_set is not None:
                node.spans += _account_spans(self.ctx, account)
            path: PathT = ("spec", "manager", "additionalArgs")
            spans = spans_at(obj.doc, path) if obj.has(*path) else []
            label = f"watch-filter {value}" if value is not None else "no --watch-filter"
            for cp in (
                self.control_planes_watched(str(value))
                if value is not None
                else self.ctx.control_planes()
            ):
                self.reconciled.add(_cp_key(cp))
                self.graph.edge(
                    key, self.namespace(namespace_of(cp)), label, dashed=value is None, spans=spans
                )

    def control_planes_watched(self, label: str) -> list[Obj]:
        """The control planes labelled for a provider's watch filter: indexed once."""
        if self._watched is None:
            self._watched = defaultdict(list)
            for cp in self.ctx.control_planes():
                self._watched[_watch_label(cp)].append(cp)
        return self._watched.get(label, [])

    def control_planes(self) -> None:
        for cp in self.ctx.control_planes():
            key, ns = _cp_key(cp), self.namespace(namespace_of(cp))
            detail = " \u00b7 ".join(
                str(cp.get("spec", k))
                for k in ("region", "version")
                if cp.get("spec", k) is not None
            )
            self.graph.node(
                key,
                "controlplane",
                ["AWSManagedControlPlane", cp.name, *([detail] if detail else [])],
                self.graph.nodes[ns].group,
            ).spans.append(doc_span(cp))
            ref = _ref(cp.get("spec", "identityRef"))
            spans = spans_at(
                cp.doc, ("spec", "identityRef") if ref else ("spec",), key_only=not ref
            )
            ident = self.ctx.identity(*ref) if ref else None
            if (
                ref
                and ref[0] == ROLE_IDENTITY
                and ident is not None
                and admits(self.ctx, ident.get("spec", "allowedNamespaces"), namespace_of(cp))
            ):
                # Admitted by a selector or by everything: the chain passes the namespace too.
                if (f"identity/{ident.name}", ns) not in self.graph.linked:
                    self.graph.edge(
                        f"identity/{ident.name}",
                        ns,
                        "allowedNamespaces",
                        spans=spans_at(ident.doc, ("spec", "allowedNamespaces")),
                    )
                self.graph.edge(ns, key, "identityRef", spans=spans)
                continue
            self.graph.edge(ns, key, "")
            if key in self.reconciled and (ref is None or ref[0] == CONTROLLER_IDENTITY):
                continue  # operator mode: `default` is the provider's own account
            source = self.ref_node(*(ref or (CONTROLLER_IDENTITY, DEFAULT_IDENTITY)), spans)
            self.graph.edge(
                source,
                key,
                "identityRef" if ref else "no identityRef: default",
                dashed=ref is None,
                spans=spans,
            )

    def principal(self) -> None:
        """The management principal, trusted by (and granted) every target role, when
        accounts.yaml or a management stack names it; and the YAML that makes those links."""
        roles = sorted(k for k, n in self.graph.nodes.items() if n.kind == "role")
        account_set = self.ctx.account_set
        if roles and (account_set is not None or self.stacks.management):
            names = (
                sorted(self.granted)
                if account_set is None
                else [account_set.management.principal_arn(account_set.partition).split(":", 5)[5]]
            )
            lines = [f"IAM {kind} {name}" for kind, _, name in (n.partition("/") for n in names)]
            node = self.graph.node(
                PRINCIPAL,
                PRINCIPAL,
                ["CAPA runs as", *(lines or ["the management principal"])],
                MANAGEMENT,
            )
            node.spans += [doc_span(m) for m in self.stacks.management]
            if account_set is not None and account_set.document is not None:
                node.spans += spans_at(account_set.document, ("spec", "management"))
            for role in roles:
                self.graph.edge(PRINCIPAL, role, ASSUME_ROLE)
        by_group: dict[str, list[str]] = defaultdict(list)
        by_name: dict[str, list[str]] = defaultdict(list)
        for role in roles:
            by_group[self.graph.nodes[role].group].append(role)
            by_name[role.rsplit("/", 1)[-1]].append(role)
        for stack, account in self.stacks.targets:
            if account is not None:
                mine = list(by_group.get(self.account_group(account), ()))
            else:  # a hand-written stack names no account: it creates every role of its name
                mine = list(by_name.get(iam.controllers_role(stack.data), ()))
            for role in mine:
                self.graph.nodes[role].spans.append(doc_span(stack))
            self.graph.trust_stacks.append((doc_span(stack), mine))
        for account in self.declared:  # its settings in accounts.yaml land on its role
            for role in by_group.get(f"account/{account.name}", ()):
                self.graph.nodes[role].spans += _account_spans(self.ctx, account)

    def attach_objects(self) -> None:
        """Namespace objects, and the other objects of a cluster, mark their node too."""
        for obj in self.ctx.applied("Namespace", ""):
            if f"namespace/{obj.name}" in self.graph.nodes:
                self.graph.nodes[f"namespace/{obj.name}"].spans.append(doc_span(obj))
        clusters: dict[tuple[str, str], str] = {}
        for obj in self.ctx.applied("Cluster", CAPI_GROUP):
            cp = f"controlplane/{namespace_of(obj)}/{obj.get('spec', 'controlPlaneRef', 'name')}"
            if cp in self.graph.nodes:
                clusters[(namespace_of(obj), obj.name)] = cp
        for kind in CLUSTER_KINDS:
            for obj in self.ctx.applied(kind):
                labels = obj.get("metadata", "labels")
                name: Any = (
                    labels.get(CLUSTER_NAME_LABEL) if isinstance(labels, dict) else None
                ) or obj.get("spec", "clusterName")
                owner = clusters.get(
                    (namespace_of(obj), obj.name if kind == "Cluster" else str(name))
                )
                if owner is not None:
                    self.graph.nodes[owner].spans.append(doc_span(obj))

    def _trusted_id(self) -> str | None:
        """Hand-written: the management account, as the targets' trust names its principal."""
        found = set()
        for stack, _account in self.stacks.targets:
            for _i, statement in iam.statements(stack.get(*iam.TRUST)):
                for _path, arn in iam.aws_principals(statement):
                    match = aws.PRINCIPAL_ARN.fullmatch(arn)
                    if match and (
                        not self.granted or f"{match['type']}/{match['name']}" in self.granted
                    ):
                        found.add(match["account"])
        return found.pop() if len(found) == 1 else None


def _ref(value: Any) -> tuple[str, str] | None:
    if (
        isinstance(value, dict)
        and value.get("kind") in IDENTITY_KINDS
        and isinstance(value.get("name"), str)
    ):
        return str(value["kind"]), str(value["name"])
    return None


def _cp_key(cp: Obj) -> str:
    return f"controlplane/{namespace_of(cp)}/{cp.name}"


def _watch_label(cp: Obj) -> str | None:
    labels = cp.get("metadata", "labels")
    return (
        str(labels[WATCH_FILTER_LABEL])
        if isinstance(labels, dict) and (WATCH_FILTER_LABEL in labels)
        else None
    )


def _selector(selector: dict[str, Any]) -> list[str]:
    labels = selector.get("matchLabels")
    out = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, dict) else []
    for expr in selector.get("matchExpressions") or ():
        if isinstance(expr, dict):
            values = ",".join(str(v) for v in expr.get("values") or ())
            out.append(f"{expr.get('key')} {expr.get('operator')} {values}".strip())
    return out or ["(empty selector)"]


def _account_spans(ctx: Context, account: Account) -> list[Span]:
    document = ctx.account_set.document if ctx.account_set else None
    return spans_at(document, ("spec", "accounts", account.index)) if document else []

"""The trust graph: who acts as whom, from the management principal down to each control plane.

Nodes are the links of CAPA's credential chain: the principal CAPA runs as in the management
account, each target account's controllers role (``roleARN``), the ``AWSClusterRoleIdentity``
that assumes it, the namespaces its ``allowedNamespaces`` admits and the control planes there;
in operator mode each account's ``InfrastructureProvider`` reconciles the namespaces its
``--watch-filter`` selects. The graph is built from the objects ``check`` judges and coloured by
its findings: a node or edge holds spans of the YAML that defines it, and a finding whose
file:line falls in a span marks it (CAPA-T003 and T004, which are written in the bootstrap
stacks, mark the trust edge from the principal to the role they are about). Drawing is
``hooks.graph``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from hooks.context import Context, Obj, PathT
from hooks.finding import Finding, Severity
from hooks.iam_policy import (
    PRINCIPAL,
    Principal,
    aws_principals,
    controllers_role,
    parse_role_arn,
    statements,
)
from hooks.iam_policy import TRUST as TRUST_STATEMENTS
from hooks.rules.controlplanes import admits, namespace_of
from hooks.rules.identities import verdict
from hooks.rules.trust import stacks
from kustomize_plugin import yamlio
from kustomize_plugin.model import DEFAULT_NAME_SUFFIX, OPERATOR, Account
from kustomize_plugin.resources import (
    CAPI_GROUP,
    CLUSTER_NAME_LABEL,
    CONTROLLER_IDENTITY,
    DEFAULT_IDENTITY,
    IDENTITY_KINDS,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
    WATCH_FILTER_LABEL,
)

Status = Literal["ok", "warning", "error"]
ELLIPSIS = "\u2026"
ASSUME_ROLE = "sts:AssumeRole"
MANAGEMENT = "management"
OPERATOR_GROUP = "operator.cluster.x-k8s.io"
WATCH_FILTER_ARG = "--watch-filter"
# Cluster objects that belong to one control plane's node (a finding on any of them marks it).
CLUSTER_KINDS = ("Cluster", "AWSManagedCluster", "MachinePool", "AWSManagedMachinePool")


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (1-based, inclusive) of a repository file."""

    file: str
    first: int
    last: int

    def holds(self, file: str, line: int) -> bool:
        return file == self.file and self.first <= line <= self.last

    @classmethod
    def of(cls, file: str, start: yaml.Node, end: yaml.Node | None = None) -> Span:
        end = end or start
        # end_mark is just past the node: at column 0 it is the start of the next line.
        last = end.end_mark.line + (0 if end.end_mark.column == 0 else 1)
        return cls(file, start.start_mark.line + 1, max(last, start.start_mark.line + 1))


@dataclass
class Marked:
    """What nodes and edges share: where they are written and the findings on them."""

    spans: list[Span] = field(default_factory=list)
    rules: dict[str, Severity] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if "error" in self.rules.values():
            return "error"
        return "warning" if self.rules else "ok"

    def mark(self, finding: Finding) -> None:
        if self.rules.get(finding.rule) != "error":
            self.rules[finding.rule] = finding.severity


@dataclass
class Node(Marked):
    key: str = ""
    kind: str = ""
    lines: tuple[str, ...] = ()
    group: str = ""
    missing: bool = False


@dataclass
class Edge(Marked):
    source: str = ""
    target: str = ""
    label: str = ""
    dashed: bool = False


@dataclass(frozen=True)
class Group:
    key: str
    title: str


@dataclass
class Graph:
    groups: dict[str, Group] = field(default_factory=dict)  # in drawing order
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    shortened: bool = False  # a role name lost the default suffix (the legend says so)
    undrawn: int = 0  # findings on nothing drawn
    # Where CAPA-T004 and T003 point: an identity's roleARN line, a target stack -> roles.
    role_at: dict[tuple[str, int], str] = field(default_factory=dict)
    trust_stacks: list[tuple[Span, list[str]]] = field(default_factory=list)

    def node(self, key: str, kind: str, lines: Iterable[str], group: str = "", *,
             missing: bool = False) -> Node:
        if key not in self.nodes:
            self.nodes[key] = Node(key=key, kind=kind, lines=tuple(lines), group=group,
                                   missing=missing)
        return self.nodes[key]

    def edge(self, source: str, target: str, label: str, *, dashed: bool = False,
             spans: Iterable[Span] = ()) -> Edge:
        edge = self.edges.setdefault((source, target, label),
                                     Edge(source=source, target=target, label=label,
                                          dashed=dashed))
        edge.spans.extend(spans)
        return edge

    def group(self, key: str, title: str) -> str:
        self.groups.setdefault(key, Group(key, title))
        return key


def short_name(name: str, graph: Graph) -> str:
    """An IAM name without clusterawsadm's default suffix, which every role and user shares."""
    if name.endswith(DEFAULT_NAME_SUFFIX) and len(name) > len(DEFAULT_NAME_SUFFIX):
        graph.shortened = True
        return name[: -len(DEFAULT_NAME_SUFFIX)] + ELLIPSIS
    return name


def build(ctx: Context) -> Graph:
    """The graph of a repository's objects, not yet marked with findings."""
    builder = Builder(ctx)
    builder.build()
    return builder.graph


class Builder:
    """Walks the chain once, in the order CAPA follows it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.graph = Graph()
        self.stacks = stacks(ctx)
        self.reconciled: set[str] = set()  # control planes a provider reconciles

    # --- groups -----------------------------------------------------------------------------

    def account_group(self, account: Account) -> str:
        return self.graph.group(f"account/{account.name}",
                                f"{account.name} \u00b7 AWS account {account.account_id}")

    def aws_group(self, account_id: str) -> str:
        declared = self.ctx.account_set.accounts if self.ctx.account_set else ()
        for account in declared:
            if account.account_id == account_id:
                return self.account_group(account)
        return self.graph.group(f"aws/{account_id}", f"AWS account {account_id}")

    def group_of(self, obj: Obj) -> str:
        account = self.ctx.account_of(obj) if self.ctx.account_set else None
        return self.account_group(account) if account else ""

    # --- the chain --------------------------------------------------------------------------

    def build(self) -> None:
        account_set = self.ctx.account_set
        management_id = account_set.management.account_id if account_set else self._trusted_id()
        title = f"{MANAGEMENT} \u00b7 AWS account {management_id}" if management_id else (
            f"{MANAGEMENT} account")
        self.graph.group(MANAGEMENT, title)
        for account in account_set.accounts if account_set else ():
            group = self.account_group(account)
            if account_set and account_set.credentials != OPERATOR:
                self.role(account.role_arn, group)
        for obj in sorted(self.ctx.identities(), key=lambda o: (o.kind, o.name)):
            self.identity(obj)
        self.providers()
        self.control_planes()
        self.principal()
        self.place_namespaces()
        self.attach_objects()
        self.attach_accounts()

    def role(self, arn: str, group: str | None = None) -> str | None:
        parsed = parse_role_arn(arn)
        if parsed is None:
            return None
        key = f"role/{arn}"
        lines = ["IAM role", short_name(f"{parsed.path}{parsed.name}", self.graph)]
        if parsed.partition != "aws":
            lines.append(f"partition {parsed.partition}")
        self.graph.node(key, "role", lines, group or self.aws_group(parsed.account))
        return key

    def identity(self, obj: Obj) -> None:
        kind = {CONTROLLER_IDENTITY: "controller", STATIC_IDENTITY: "static"}.get(obj.kind,
                                                                                   "identity")
        key = f"{kind}/{obj.name}"
        group = MANAGEMENT if kind == "controller" else ""
        if kind == "identity":
            arn = parse_role_arn(obj.get("spec", "roleARN"))
            group = self.group_of(obj) or (self.aws_group(arn.account) if arn else "")
        node = self.graph.node(key, kind, [obj.kind, obj.name], group)
        node.spans.append(_doc_span(obj))
        if kind != "identity":
            return
        role = self.role(str(obj.get("spec", "roleARN")))
        if role is not None:
            self.graph.edge(role, key, "roleARN", spans=_spans(obj, ("spec", "roleARN")))
            where = obj.location(("spec", "roleARN"))
            self.graph.role_at[(where.file, where.line)] = role
        source = _ref(obj.get("spec", "sourceIdentityRef"))
        if source is not None:
            spans = _spans(obj, ("spec", "sourceIdentityRef"))
            self.graph.edge(self.ref_node(*source, spans), key, "sourceIdentityRef",
                            dashed=True, spans=spans)
        self.allowed(obj, key, group)

    def ref_node(self, kind: str, name: str, spans: list[Span]) -> str:
        """The node of an identity a reference names; a dangling one is drawn as missing."""
        short = {CONTROLLER_IDENTITY: "controller", STATIC_IDENTITY: "static",
                 ROLE_IDENTITY: "identity"}[kind]
        if self.ctx.identity(kind, name) is not None:
            return f"{short}/{name}"
        node = self.graph.node(f"missing/{kind}/{name}", "missing", [f"missing {kind}", name],
                               MANAGEMENT if kind == CONTROLLER_IDENTITY else "", missing=True)
        node.spans.extend(spans)
        return node.key

    def allowed(self, obj: Obj, key: str, group: str) -> None:
        path: PathT = ("spec", "allowedNamespaces")
        allowed = obj.get(*path)
        judged = verdict(allowed)
        whole = _spans(obj, path)
        if judged == "all":
            self.graph.node("namespace/*", "everyone", ["every namespace"])
            self.graph.edge(key, "namespace/*", "allowedNamespaces", spans=whole)
            return
        if judged != "some":
            return
        for i, name in enumerate(allowed.get("list") or ()):
            if isinstance(name, str):
                self.namespace(name)
                self.graph.edge(key, f"namespace/{name}", "allowedNamespaces",
                                spans=_spans(obj, (*path, "list", i)))
        selector = allowed.get("selector")
        if isinstance(selector, dict) and selector:
            target = f"selector/{obj.name}"
            self.graph.node(target, "selector", ["namespaces labelled", *_selector(selector)],
                            group)
            self.graph.edge(key, target, "allowedNamespaces", spans=_spans(obj, (*path,
                                                                                "selector")))

    def namespace(self, name: str) -> str:
        return self.graph.node(f"namespace/{name}", "namespace", ["namespace", name]).key

    def providers(self) -> None:
        """Operator mode: each provider reconciles the clusters its watch filter selects."""
        declared = {a.name: a for a in self.ctx.account_set.accounts} if (
            self.ctx.account_set) else {}
        for obj in sorted(self.ctx.applied("InfrastructureProvider", OPERATOR_GROUP),
                          key=lambda o: (o.namespace, o.name)):
            args = obj.get("spec", "manager", "additionalArgs")
            # The operator passes each key verbatim as "key=value" (cluster-api-operator
            # internal/controller/component_customizer.go): without "--" the manager ignores
            # it and reconciles every cluster.
            value = args.get(WATCH_FILTER_ARG) if isinstance(args, dict) else None
            account = (self.ctx.account_of(obj) if self.ctx.account_set else None) or declared.get(
                str(value)) or declared.get(obj.name.removeprefix("aws-"))
            secret = obj.get("spec", "configSecret", "name")
            key = f"provider/{obj.namespace}/{obj.name}"
            lines = ["InfrastructureProvider", f"{obj.namespace}/{obj.name}" if obj.namespace
                     else obj.name, f"secret {secret}" if secret else "no configSecret"]
            self.graph.node(key, "provider", lines,
                            self.account_group(account) if account else "").spans.append(
                _doc_span(obj))
            arg_path: PathT = ("spec", "manager", "additionalArgs")
            spans = _spans(obj, arg_path) if obj.has(*arg_path) else []
            label = f"watch-filter {value}" if value is not None else "no --watch-filter"
            for cp in self.ctx.control_planes():
                if value is None or _watch_label(cp) == str(value):
                    self.reconciled.add(_cp_key(cp))
                    self.graph.edge(key, self.namespace(namespace_of(cp)), label,
                                    dashed=value is None, spans=spans)

    def control_planes(self) -> None:
        for cp in self.ctx.control_planes():
            namespace = namespace_of(cp)
            key = _cp_key(cp)
            region, version = cp.get("spec", "region"), cp.get("spec", "version")
            detail = " \u00b7 ".join(str(v) for v in (region, version) if v is not None)
            lines = ["AWSManagedControlPlane", cp.name] + ([detail] if detail else [])
            self.graph.node(key, "controlplane", lines).spans.append(_doc_span(cp))
            ns = self.namespace(namespace)
            path: PathT = ("spec", "identityRef")
            ref = _ref(cp.get(*path))
            spans = _spans(cp, path) if ref else _spans(cp, ("spec",), key_only=True)
            ident = self.ctx.identity(*ref) if ref else None
            if ref and ref[0] == ROLE_IDENTITY and ident is not None and admits(
                    self.ctx, ident.get("spec", "allowedNamespaces"), namespace):
                self.admitted(ident, ns)
                self.graph.edge(ns, key, "identityRef", spans=spans)
                continue
            self.graph.edge(ns, key, "")
            if key in self.reconciled and (ref is None or ref[0] == CONTROLLER_IDENTITY):
                continue  # operator mode: `default` is the provider's own account
            source = self.ref_node(*(ref or (CONTROLLER_IDENTITY, DEFAULT_IDENTITY)), spans)
            self.graph.edge(source, key, "identityRef" if ref else "no identityRef: default",
                            dashed=ref is None, spans=spans)

    def admitted(self, ident: Obj, ns: str) -> None:
        """A namespace admitted by a selector or by everything: the chain passes through it."""
        key = f"identity/{ident.name}"
        if not any(s == key and t == ns for s, t, _label in self.graph.edges):
            self.graph.edge(key, ns, "allowedNamespaces",
                            spans=_spans(ident, ("spec", "allowedNamespaces")))

    def principal(self) -> None:
        roles = sorted(k for k, n in self.graph.nodes.items() if n.kind == "role")
        if not roles:
            return
        account_set = self.ctx.account_set
        if account_set is not None:
            arn = account_set.management.principal_arn(account_set.partition)
            kind, _slash, name = arn.split(":", 5)[5].partition("/")
            names = [f"IAM {kind} {short_name(name, self.graph)}"]
        else:
            found = Principal.of_management([m.data for m in self.stacks.management]).names
            names = [f"IAM {n.partition('/')[0]} {short_name(n.partition('/')[2], self.graph)}"
                     for n in sorted(found)] or ["the management principal"]
        node = self.graph.node("principal", "principal", ["CAPA runs as", *names], MANAGEMENT)
        node.spans.extend(_doc_span(m) for m in self.stacks.management)
        if account_set is not None and account_set.document is not None:
            node.spans.extend(_spans_in(account_set.document, ("spec", "management")))
        for role in roles:
            self.graph.edge("principal", role, ASSUME_ROLE)
        for stack, account in self.stacks.targets:
            if account is not None:
                group = self.account_group(account)
                mine = [r for r in roles if self.graph.nodes[r].group == group]
            else:  # a hand-written stack names no account: it creates every role of its name
                name = controllers_role(stack.data)
                mine = [r for r in roles if r.endswith(f"/{name}")]
            for role in mine:
                self.graph.nodes[role].spans.append(_doc_span(stack))
            self.graph.trust_stacks.append((_doc_span(stack), mine))

    def attach_accounts(self) -> None:
        """An account's settings in accounts.yaml land on its role (or, operator mode, provider)."""
        account_set = self.ctx.account_set
        if account_set is None or account_set.document is None:
            return
        for account in account_set.accounts:
            group = self.account_group(account)
            spans = _spans_in(account_set.document, ("spec", "accounts", account.index))
            for node in self.graph.nodes.values():
                if node.group == group and node.kind in ("role", "provider"):
                    node.spans.extend(spans)

    def place_namespaces(self) -> None:
        """A namespace sits in its account's box: declared, else its identity's or provider's."""
        by_namespace = self.ctx.accounts_by_namespace
        feeders: dict[str, list[str]] = {}
        for source, target, _label in sorted(self.graph.edges):
            feeders.setdefault(target, []).append(source)
        for key, node in sorted(self.graph.nodes.items()):
            if node.kind != "namespace":
                continue
            name = key.split("/", 1)[1]
            if name in by_namespace:
                node.group = self.account_group(by_namespace[name])
                continue
            kinds = [(self.graph.nodes[s].kind != "identity", s) for s in feeders.get(key, [])
                     if self.graph.nodes[s].kind in ("identity", "provider")]
            node.group = self.graph.nodes[min(kinds)[1]].group if kinds else ""
        for source, target, _label in self.graph.edges:
            node = self.graph.nodes[target]
            if node.kind == "controlplane" and self.graph.nodes[source].kind == "namespace":
                node.group = self.graph.nodes[source].group

    def attach_objects(self) -> None:
        """Namespaces and the other objects of a cluster share the marks of their node."""
        for obj in self.ctx.applied("Namespace", ""):
            node = self.graph.nodes.get(f"namespace/{obj.name}")
            if node is not None:
                node.spans.append(_doc_span(obj))
        clusters: dict[tuple[str, str], str] = {}
        for obj in self.ctx.applied("Cluster", CAPI_GROUP):
            cp = f"controlplane/{namespace_of(obj)}/{obj.get('spec', 'controlPlaneRef', 'name')}"
            if cp in self.graph.nodes:
                clusters[(namespace_of(obj), obj.name)] = cp
        for kind in CLUSTER_KINDS:
            for obj in self.ctx.applied(kind):
                labels = obj.get("metadata", "labels")
                name: Any = (labels.get(CLUSTER_NAME_LABEL) if isinstance(labels, dict)
                             else None) or obj.get("spec", "clusterName")
                owner = clusters.get((namespace_of(obj), obj.name if kind == "Cluster"
                                      else str(name)))
                if owner is not None:
                    self.graph.nodes[owner].spans.append(_doc_span(obj))

    def _trusted_id(self) -> str | None:
        """Hand-written: the management account, as the targets' trust names its principal."""
        names = Principal.of_management([m.data for m in self.stacks.management]).names
        found = set()
        for stack, _account in self.stacks.targets:
            for _i, statement in statements(stack.get(*TRUST_STATEMENTS)):
                for _path, arn in aws_principals(statement):
                    match = PRINCIPAL.fullmatch(arn)
                    if match and (not names or f"{match['type']}/{match['name']}" in names):
                        found.add(match["account"])
        return found.pop() if len(found) == 1 else None


def _ref(value: Any) -> tuple[str, str] | None:
    if isinstance(value, dict) and value.get("kind") in IDENTITY_KINDS and isinstance(
            value.get("name"), str):
        return str(value["kind"]), str(value["name"])
    return None


def _cp_key(cp: Obj) -> str:
    return f"controlplane/{namespace_of(cp)}/{cp.name}"


def _watch_label(cp: Obj) -> str | None:
    labels = cp.get("metadata", "labels")
    return str(labels[WATCH_FILTER_LABEL]) if isinstance(labels, dict) and (
        WATCH_FILTER_LABEL in labels) else None


def _selector(selector: dict[str, Any]) -> list[str]:
    labels = selector.get("matchLabels")
    out = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, dict) else []
    for expr in selector.get("matchExpressions") or ():
        if isinstance(expr, dict):
            values = ",".join(str(v) for v in expr.get("values") or ())
            out.append(f"{expr.get('key')} {expr.get('operator')} {values}".strip())
    return out or ["(empty selector)"]


def _doc_span(obj: Obj) -> Span:
    return Span.of(obj.file, obj.doc.node)


def _spans(obj: Obj, path: PathT, *, key_only: bool = False) -> list[Span]:
    return _spans_in(obj.doc, path, key_only=key_only)


def _spans_in(doc: yamlio.Document, path: PathT, *, key_only: bool = False) -> list[Span]:
    """The lines of the key at ``path`` through the end of its value."""
    key, value = yamlio.node_at(doc.node, path)
    start = key if key is not None else value
    if key_only:
        return [Span(doc.file, start.start_mark.line + 1, start.start_mark.line + 1)]
    return [Span.of(doc.file, start, value)]

"""The trust graph: who acts as whom, from the management principal down to each control plane.

Nodes are the links of CAPA's credential chain: the principal CAPA runs as, each target
account's controllers role (``roleARN``), the ``AWSClusterRoleIdentity`` that assumes it, the
namespaces its ``allowedNamespaces`` admits, the control planes there; in operator mode the
``InfrastructureProvider`` whose ``--watch-filter`` selects them. ``build.py`` makes it from
the objects ``check`` judges; each node and edge keeps the spans of YAML that define it, so
that ``capa_accounts.hooks.graph.draw`` can put every finding on what it is about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from capa_accounts.core.finding import Finding, Severity
from capa_accounts.core.resources import (
    CONTROLLER_IDENTITY,
    ROLE_IDENTITY,
    STATIC_IDENTITY,
)
from capa_accounts.hooks.graph.span import Span

Status = Literal["ok", "warning", "error"]
ASSUME_ROLE = "sts:AssumeRole"
MANAGEMENT = "management"
PRINCIPAL = "principal"
NODE_KIND = {
    CONTROLLER_IDENTITY: "controller",
    STATIC_IDENTITY: "static",
    ROLE_IDENTITY: "identity",
}
# The objects of one cluster besides its control plane: a finding on any of them marks it.
CLUSTER_KINDS = ("Cluster", "AWSManagedCluster", "MachinePool", "AWSManagedMachinePool")


@dataclass
class Marked:
    """What nodes and edges share: the YAML that defines them, and the findings on them."""

    spans: list[Span] = field(default_factory=list)
    rules: dict[str, Severity] = field(default_factory=dict)
    change: str = ""  # "added", "removed" or "changed" against a base ref (graph --base)

    @property
    def status(self) -> Status:
        return "error" if "error" in self.rules.values() else "warning" if self.rules else "ok"

    def mark(self, finding: Finding) -> None:
        if self.rules.get(finding.rule) != "error":
            self.rules[finding.rule] = finding.severity


@dataclass
class Node(Marked):
    key: str = ""
    kind: str = ""
    lines: tuple[str, ...] = ()
    group: str = ""  # the box (AWS account) it is drawn in; "" for none
    missing: bool = False  # named by a reference, absent from the repository


@dataclass
class Edge(Marked):
    source: str = ""
    target: str = ""
    label: str = ""
    dashed: bool = False


@dataclass
class Graph:
    groups: dict[str, str] = field(default_factory=dict)  # key -> title
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    undrawn: int = 0  # findings on nothing drawn
    # Where CAPA-T004 and T003 point: an identity's roleARN line (by file: the line is found
    # only for a finding in that file); a target stack's roles.
    role_at: dict[str, list[tuple[Callable[[], int], str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    trust_stacks: list[tuple[Span, list[str]]] = field(default_factory=list)
    linked: set[tuple[str, str]] = field(default_factory=set)  # (source, target) of any edge
    omitted: list[str] = field(default_factory=list)  # changed accounts left out to fit
    compared: str = ""  # the base ref of graph --base

    def node(
        self, key: str, kind: str, lines: Iterable[str], group: str = "", *, missing: bool = False
    ) -> Node:
        return self.nodes.setdefault(
            key, Node(key=key, kind=kind, lines=tuple(lines), group=group, missing=missing)
        )

    def edge(
        self,
        source: str,
        target: str,
        label: str,
        *,
        dashed: bool = False,
        spans: Iterable[Span] = (),
    ) -> Edge:
        edge = self.edges.setdefault(
            (source, target, label), Edge(source=source, target=target, label=label, dashed=dashed)
        )
        edge.spans.extend(spans)
        self.linked.add((source, target))
        return edge

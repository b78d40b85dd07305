"""What both drawings of the trust graph share: each kind's rank, shape and colours, the
marks of a finding or a change, where each node goes, the stable IDs, the order of boxes,
nodes and edges, and the lines written on each."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict

from capa_accounts.core.aws import DEFAULT_NAME_SUFFIX
from capa_accounts.hooks.graph.model import (
    MANAGEMENT,
    Edge,
    Graph,
    Node,
)

ELLIPSIS = "\u2026"
RANK = {
    "principal": 0,
    "controller": 1,
    "static": 1,
    "missing": 2,
    "role": 2,
    "provider": 2,
    "identity": 3,
    "everyone": 4,
    "selector": 4,
    "namespace": 4,
    "controlplane": 5,
}
# kind: (Mermaid shape open, close, DOT shape, fill colour)
SHAPES = {
    "principal": ('(["', '"])', "oval", "#dbe9ff"),
    "controller": ('["', '"]', "box", "#e6f4ea"),
    "static": ('["', '"]', "box", "#f1f3f4"),
    "missing": ('["', '"]', "box", "#ffffff"),
    "role": ('[["', '"]]', "component", "#fff1d6"),
    "provider": ('[["', '"]]', "component", "#f3e8fd"),
    "identity": ('["', '"]', "box", "#e6f4ea"),
    "everyone": ('{{"', '"}}', "folder", "#f1f3f4"),
    "selector": ('{{"', '"}}', "folder", "#f1f3f4"),
    "namespace": ('{{"', '"}}', "folder", "#f1f3f4"),
    "controlplane": ('("', '")', "box3d", "#e1f0fb"),
}
INK = "#5f6b7a"
FAINT = "#98a2ae"  # references inside the cluster (sourceIdentityRef), quieter than the chain
# status: (stroke, fill, text); "ok" nodes keep their kind's fill.
STATUS = {"error": ("#d62728", "#fde7e9", "#a50e0e"), "warning": ("#e69500", "#fff4d6", "#7a4d00")}
MARK = {"error": "\u2717", "warning": "\u26a0"}
# A change against the base ref (graph --base): the mark on the item and its colour.
CHANGE = {
    "added": ("+ added", "#1a7f37"),
    "removed": ("\u2212 removed", "#8c959f"),
    "changed": ("~ changed", "#0969da"),
}


def place(graph: Graph) -> None:
    """A namespace no account declares sits in the box of the identity (else the provider)
    that admits it; a control plane sits with its namespace. A controller identity that
    nothing chains from (operator mode) is left out unless a finding is on it."""
    linked = {end for key in graph.edges for end in key[:2]}
    for key in [
        k
        for k, n in graph.nodes.items()
        if n.kind == "controller" and k not in linked and n.status == "ok"
    ]:
        del graph.nodes[key]
    feeders: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for source, target, _label in graph.edges:
        kind = graph.nodes[source].kind
        if kind in ("identity", "provider"):
            feeders[target].append((kind == "provider", source))
    for node in graph.nodes.values():
        if node.kind == "namespace" and not node.group and feeders[node.key]:
            node.group = graph.nodes[min(feeders[node.key])[1]].group
    for source, target, _label in graph.edges:
        if graph.nodes[target].kind == "controlplane" and graph.nodes[source].kind == "namespace":
            graph.nodes[target].group = graph.nodes[source].group


def node_ids(graph: Graph) -> dict[str, str]:
    """Stable IDs safe in Mermaid and DOT: the key's letters and digits, hashed on collision."""
    bases: dict[str, list[str]] = defaultdict(list)
    for key in graph.nodes:
        text = key.lower().replace(DEFAULT_NAME_SUFFIX, "").replace("arn:aws:iam::", "")
        bases[re.sub(r"[^a-z0-9]+", "_", text).strip("_")].append(key)
    ids: dict[str, str] = {}
    for base, keys in bases.items():
        for key in keys:
            suffix = "_" + hashlib.sha256(key.encode()).hexdigest()[:6] if len(keys) > 1 else ""
            ids[key] = base + suffix
    return ids


def group_ids(graph: Graph) -> dict[str, str]:
    return {key: "g_" + re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_") for key in graph.groups}


def ordered(graph: Graph) -> tuple[list[tuple[str, list[Node]]], list[Edge]]:
    """Boxes (management, declared accounts, other AWS accounts, then loose nodes) and edges."""
    members: dict[str, list[Node]] = defaultdict(list)
    for node in sorted(graph.nodes.values(), key=lambda n: (RANK[n.kind], n.key)):
        members[node.group if node.group in graph.groups else ""].append(node)
    keys = list(graph.groups)
    order = (
        [MANAGEMENT]
        + [k for k in keys if k.startswith("account/")]
        + sorted(k for k in keys if k.startswith("aws/"))
        + [""]
    )
    boxes = [(key, members[key]) for key in order if members.get(key)]
    edges = sorted(
        graph.edges.values(),
        key=lambda e: (
            RANK[graph.nodes[e.source].kind],
            e.source,
            RANK[graph.nodes[e.target].kind],
            e.target,
            e.label,
        ),
    )
    return boxes, edges


def shortened(line: str) -> str:
    """clusterawsadm's default suffix, which every role shares, is left out (legend)."""
    name = line.rsplit(" ", 1)[-1]
    if name.endswith(DEFAULT_NAME_SUFFIX) and name != DEFAULT_NAME_SUFFIX:
        return line[: -len(DEFAULT_NAME_SUFFIX)] + ELLIPSIS
    return line


def lines_of(item: Node | Edge) -> list[str]:
    base = (
        [shortened(line) for line in item.lines]
        if isinstance(item, Node)
        else ([item.label] if item.label else [])
    )
    marks = [CHANGE[item.change][0]] if item.change else []
    for severity in ("error", "warning"):
        rules = sorted(r for r, s in item.rules.items() if s == severity)
        marks += [f"{MARK[severity]} {', '.join(rules)}"] if rules else []
    return base + ([" ".join(marks)] if marks else [])


def legend(graph: Graph) -> str:
    if graph.compared and not graph.nodes:
        return f"no change to the trust graph since {graph.compared}"
    parts = ["red: broken link (a check error)", "amber: warning"]
    if any(shortened(line) != line for node in graph.nodes.values() for line in node.lines):
        parts.append(f"{ELLIPSIS} = {DEFAULT_NAME_SUFFIX}")
    if graph.undrawn:
        many = "s" if graph.undrawn > 1 else ""
        parts.append(f"{graph.undrawn} finding{many} on objects not drawn: run capa-accounts check")
    if any(item.change for item in (*graph.nodes.values(), *graph.edges.values())):
        parts.append("green +: added · grey \u2212: removed · blue ~: changed")
    if graph.omitted:
        shown = ", ".join(graph.omitted[:5]) + (", \u2026" if len(graph.omitted) > 5 else "")
        parts.append(
            f"{len(graph.omitted):,} more changed accounts not drawn ({shown}): "
            "draw them with --account NAME"
        )
    return " \u00b7 ".join(parts)

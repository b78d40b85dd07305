"""``graph --base REF``: only what a change touches, for a pull request.

The trust graph of the working tree is compared with the one REF holds (read from git objects,
as ``check --base`` reads it). An edge is added or removed when its ends are linked on one side
only, changed when both sides link them with other labels; a node is added, removed or changed
(its lines) likewise. The picture holds the touched items and the ends of touched edges, each
marked, in their account boxes, with today's findings on them. A change that touches more
accounts than Mermaid draws (``select.MERMAID_MAX_TEXT`` characters, ``MERMAID_MAX_EDGES``
edges: GitHub's limits) keeps the first accounts in order and names the rest in the legend, so
the text always fits a pull-request comment or a job summary.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable

from capa_accounts.hooks.graph.model import MANAGEMENT, Edge, Graph, Node
from capa_accounts.hooks.graph.select import MERMAID_MAX_EDGES, MERMAID_MAX_TEXT, mermaid_size

EdgeKey = tuple[str, str, str]


def diff(base: Graph, head: Graph) -> Graph:
    """The touched part of ``head`` (and what only ``base`` has), every touched item marked."""
    out = Graph(groups={**base.groups, **head.groups}, undrawn=head.undrawn, compared="REF")
    pairs_base, pairs_head = _pairs(base), _pairs(head)
    touched: set[str] = set()
    for pair in pairs_base.keys() | pairs_head.keys():
        before, after = pairs_base.get(pair, {}), pairs_head.get(pair, {})
        if set(before) == set(after):
            continue
        change = "changed" if before and after else "added" if after else "removed"
        for key, edge in (after or before).items():
            _take_edge(out, key, edge, change)
        touched.update(pair)
    for name in base.nodes.keys() | head.nodes.keys():
        old, new = base.nodes.get(name), head.nodes.get(name)
        if old is not None and new is not None and _seen(base, old) == _seen(head, new):
            continue
        change = "changed" if old and new else "added" if new else "removed"
        node = _take_node(out, (new or old), change)  # type: ignore[arg-type]
        touched.add(node.key)
    for name in touched:
        if name not in out.nodes:
            found = head.nodes.get(name) or base.nodes.get(name)
            if found is not None:
                _take_node(out, found, "")
    return out


def _seen(graph: Graph, node: Node) -> tuple[object, ...]:
    """What a reader sees of a node: its lines and the box it is in (the box names the AWS
    account, so a changed management account changes the principal)."""
    return node.lines, node.group, graph.groups.get(node.group)


def _pairs(graph: Graph) -> dict[tuple[str, str], dict[EdgeKey, Edge]]:
    out: dict[tuple[str, str], dict[EdgeKey, Edge]] = defaultdict(dict)
    for key, edge in graph.edges.items():
        out[key[:2]][key] = edge
    return out


def _take_edge(out: Graph, key: EdgeKey, edge: Edge, change: str) -> None:
    taken = copy.copy(edge)
    taken.change = change
    out.edges[key] = taken
    out.linked.add(key[:2])


def _take_node(out: Graph, node: Node, change: str) -> Node:
    taken = copy.copy(node)
    taken.change = change
    out.nodes[node.key] = taken
    return taken


def fit(graph: Graph, render: Callable[[Graph], str]) -> Graph:
    """``graph``, or its first accounts (management and loose nodes always kept) with the rest
    named in ``omitted``, so that ``render``'s Mermaid text stays within GitHub's limits."""
    accounts = [g for g in graph.groups if g != MANAGEMENT and _members(graph, g)]
    if _fits(graph, render):
        return graph
    low, high = 0, len(accounts)  # the most accounts that fit: low fits, high + 1 does not
    while low < high:
        middle = (low + high + 1) // 2
        if _fits(_first(graph, accounts, middle), render):
            low = middle
        else:
            high = middle - 1
    return _first(graph, accounts, low)


def _members(graph: Graph, group: str) -> bool:
    return any(node.group == group for node in graph.nodes.values())


def _fits(graph: Graph, render: Callable[[Graph], str]) -> bool:
    return len(graph.edges) <= MERMAID_MAX_EDGES and mermaid_size(render(graph)) <= MERMAID_MAX_TEXT


def _first(graph: Graph, accounts: list[str], count: int) -> Graph:
    dropped = set(accounts[count:])
    part = Graph(groups={k: v for k, v in graph.groups.items() if k not in dropped})
    part.undrawn = graph.undrawn
    part.nodes = {k: n for k, n in graph.nodes.items() if n.group not in dropped}
    part.edges = {k: e for k, e in graph.edges.items() if k[0] in part.nodes and k[1] in part.nodes}
    part.linked = {k[:2] for k in part.edges}
    part.omitted = [graph.groups[g] for g in accounts[count:]]
    part.compared = graph.compared
    return part

"""What ``graph`` draws of a large fleet: some accounts (``--account``), only what is broken
(``--errors-only``), and whether Mermaid would draw the text at all.

A fleet's picture is one box per account; at a few hundred accounts neither a person nor
Mermaid reads it. Selecting keeps the chain readable: an account's box with the management
principal and controller identity it hangs from, and anything outside the box that its
identities reach (another account's namespace, every namespace, a missing identity).
"""

from __future__ import annotations

from collections.abc import Iterable

from capa_accounts.core.errors import InputError
from capa_accounts.hooks.graph.model import MANAGEMENT, Edge, Graph

# Mermaid's defaults (mermaid-js/mermaid packages/mermaid/src/schemas/config.schema.yaml:
# maxTextSize 50000, "The maximum allowed size of the users text diagram"; maxEdges 500):
# over either, Mermaid draws an error instead of the diagram, and GitHub uses the defaults.
MERMAID_MAX_TEXT = 50_000
MERMAID_MAX_EDGES = 500
_SHOWN_NAMES = 8


def select(graph: Graph, accounts: Iterable[str] = (), errors_only: bool = False) -> Graph:
    """The part of ``graph`` to draw; ``graph`` itself when nothing is selected."""
    wanted = list(dict.fromkeys(accounts))
    if wanted:
        graph = _accounts(graph, wanted)
    if errors_only:
        graph = _errors(graph)
    return graph


def _box(graph: Graph, name: str) -> str:
    for key in (f"account/{name}", f"aws/{name}"):
        if key in graph.groups:
            return key
    names = sorted(k.split("/", 1)[1] for k in graph.groups if k != MANAGEMENT)
    listed = ", ".join(names[:_SHOWN_NAMES]) + (
        f" and {len(names) - _SHOWN_NAMES} more" if len(names) > _SHOWN_NAMES else ""
    )
    raise InputError(
        f"--account {name}: no such account in the graph"
        + (f" (accounts: {listed})" if names else "")
    )


def _accounts(graph: Graph, names: list[str]) -> Graph:
    boxes = {_box(graph, name) for name in names}
    inside = {key for key, node in graph.nodes.items() if node.group in boxes}
    # One step out of the boxes: the principal, `default`, what the identities admit.
    near = {
        end
        for source, target, _label in graph.edges
        for end in (source, target)
        if source in inside or target in inside
    }
    keep = inside | near
    edges = {
        k: e
        for k, e in graph.edges.items()
        if k[0] in keep and k[1] in keep and (k[0] in inside or k[1] in inside)
    }
    return _subgraph(graph, keep, edges)


def _errors(graph: Graph) -> Graph:
    """The broken links: every node and edge with an error, and the ends of those edges."""
    edges = {k: e for k, e in graph.edges.items() if e.status == "error"}
    keep = {key for key, node in graph.nodes.items() if node.status == "error"}
    keep |= {end for key in edges for end in key[:2]}
    return _subgraph(graph, keep, edges)


def _subgraph(graph: Graph, keep: set[str], edges: dict[tuple[str, str, str], Edge]) -> Graph:
    part = Graph(groups=dict(graph.groups), undrawn=graph.undrawn)
    part.nodes = {k: n for k, n in graph.nodes.items() if k in keep}
    part.edges = edges
    part.linked = {k[:2] for k in edges}
    return part


def mermaid_size(text: str) -> int:
    """The length Mermaid compares with maxTextSize: JavaScript's ``String.length``, which
    counts UTF-16 code units (a character beyond U+FFFF counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def refuse_oversized_mermaid(text: str, edges: int) -> None:
    """Refuse Mermaid text that Mermaid would replace with an error, saying what to do."""
    size = mermaid_size(text)
    if size <= MERMAID_MAX_TEXT and edges <= MERMAID_MAX_EDGES:
        return
    over = []
    if size > MERMAID_MAX_TEXT:
        over.append(f"{size:,} characters (maxTextSize {MERMAID_MAX_TEXT:,})")
    if edges > MERMAID_MAX_EDGES:
        over.append(f"{edges:,} edges (maxEdges {MERMAID_MAX_EDGES})")
    raise InputError(
        f"the Mermaid graph has {' and '.join(over)}, over Mermaid's defaults: "
        "GitHub would draw only an error. Draw fewer accounts with --account NAME "
        "(repeatable) or --errors-only, or use --format dot"
    )

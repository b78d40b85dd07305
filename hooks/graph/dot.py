"""The trust graph in Graphviz DOT: one cluster per account, for ``dot -Tsvg``."""

from __future__ import annotations

from capa_accounts.hooks.graph.layout import (
    CHANGE,
    FAINT,
    INK,
    SHAPES,
    STATUS,
    group_ids,
    legend,
    lines_of,
    node_ids,
    ordered,
)
from capa_accounts.hooks.graph.model import (
    Graph,
    Node,
)


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: list[str]) -> str:
    return _dot_text("\n".join(lines)).replace("\n", "\\n")


def dot(graph: Graph) -> str:
    """Graphviz DOT: `dot -Tsvg` draws it; account boxes are clusters."""
    ids, gids = node_ids(graph), group_ids(graph)
    boxes, edges = ordered(graph)
    font = 'fontname="Helvetica"'
    out = [
        "digraph trust {",
        f'  graph [rankdir=LR, {font}, fontsize=12, fontcolor="{INK}", nodesep=0.3, '
        f"ranksep=0.6, labelloc=b, labeljust=l, label={_dot_text(legend(graph))}];",
        f'  node [{font}, fontsize=11, shape=box, style="rounded,filled", color="{INK}", '
        'fontcolor="#1f2933", margin="0.15,0.06"];',
        f'  edge [{font}, fontsize=10, color="{INK}", fontcolor="{INK}"];',
    ]
    for group, nodes in boxes:
        indent = "  "
        if group:
            out.append(f"  subgraph cluster_{gids[group]} {{")
            out.append(f"    label={_dot_text(graph.groups[group])};")
            out.append(
                '    labelloc=t; labeljust=l; style="rounded,filled"; fillcolor="#f7f9fc"; '
                'color="#b8c2d1";'
            )
            indent = "    "
        for node in nodes:
            out.append(f"{indent}{_dot_text(ids[node.key])} [{_dot_node_attrs(node)}];")
        if group:
            out.append("  }")
    for edge in edges:
        attrs = [f"label={_dot_label(lines_of(edge))}"] if lines_of(edge) else []
        if edge.dashed:
            attrs += ["style=dashed"] + ([f'color="{FAINT}"'] if edge.status == "ok" else [])
        if not edge.label:
            attrs.append("arrowhead=none")
        if edge.change:
            stroke = CHANGE[edge.change][1]
            attrs += [f'color="{stroke}"', "penwidth=2.5"]
            attrs += ["style=dashed"] if edge.change == "removed" else []
        if edge.status != "ok":
            stroke = STATUS[edge.status][0]
            attrs += [f'color="{stroke}"', f'fontcolor="{stroke}"', "penwidth=2.5"]
        tail = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {_dot_text(ids[edge.source])} -> {_dot_text(ids[edge.target])}{tail};")
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_node_attrs(node: Node) -> str:
    _left, _right, shape, fill = SHAPES[node.kind]
    style = "rounded,filled" if shape == "box" else "filled"
    attrs = [f"label={_dot_label(lines_of(node))}", f"shape={shape}"]
    if node.missing:
        style += ",dashed"
    if node.status != "ok":
        stroke, fill, text = STATUS[node.status]
        attrs += [f'color="{stroke}"', f'fontcolor="{text}"', "penwidth=2.5"]
    attrs += [f'style="{style}"', f'fillcolor="{fill}"']
    return ", ".join(attrs)

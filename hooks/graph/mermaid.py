"""The trust graph in Mermaid, which GitHub renders in Markdown: one subgraph per account."""

from __future__ import annotations

from collections import defaultdict

from capa_accounts.hooks.graph.layout import (
    CHANGE,
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
)


def _mermaid_text(text: str) -> str:
    # Mermaid's entity codes; '#' first, since every code starts with it.
    for char, code in (
        ("#", "#35;"),
        ("&", "#amp;"),
        ('"', "#quot;"),
        ("<", "#lt;"),
        (">", "#gt;"),
        ("|", "#124;"),
        ("`", "#96;"),
    ):
        text = text.replace(char, code)
    return text


def mermaid(graph: Graph) -> str:
    """A Mermaid flowchart: GitHub renders it in Markdown, pull requests included."""
    ids, gids = node_ids(graph), group_ids(graph)
    boxes, edges = ordered(graph)
    out = ["flowchart LR"]
    for group, nodes in boxes:
        indent = "  "
        if group:
            title = _mermaid_text(graph.groups[group])
            out.append(f'  subgraph {gids[group]}["{title}"]')
            indent = "    "
        for node in nodes:
            left, right, _shape, _fill = SHAPES[node.kind]
            label = "<br/>".join(_mermaid_text(line) for line in lines_of(node))
            out.append(f"{indent}{ids[node.key]}{left}{label}{right}")
        if group:
            out.append("  end")
    for edge in edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = " ".join(_mermaid_text(line) for line in lines_of(edge))
        text = f'|"{label}"|' if label else ""
        out.append(f"  {ids[edge.source]} {arrow}{text} {ids[edge.target]}")
    out.append(f'  legend["{_mermaid_text(legend(graph))}"]')
    classes: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes.values():
        name = node.kind if node.status == "ok" else node.status
        name = node.change if node.change and node.status == "ok" else name
        classes[f"{name}_missing" if node.missing and name in STATUS else name].append(
            ids[node.key]
        )
    classes["legend"].append("legend")
    for name, members in sorted(classes.items()):
        out.append(f"  classDef {name} {_mermaid_style(name)}")
        out.append(f"  class {','.join(sorted(members))} {name}")
    for change, (_mark, stroke) in CHANGE.items():
        numbers = [str(i) for i, e in enumerate(edges) if e.change == change]
        if numbers:
            dash = ",stroke-dasharray:5 4" if change == "removed" else ""
            out.append(
                f"  linkStyle {','.join(numbers)} stroke:{stroke},stroke-width:3px,color:{stroke}"
                + dash
            )
    for status, (stroke, _fill, _text) in STATUS.items():
        numbers = [str(i) for i, e in enumerate(edges) if e.status == status]
        if numbers:
            out.append(
                f"  linkStyle {','.join(numbers)} stroke:{stroke},stroke-width:3px,color:{stroke}"
            )
    return "\n".join(out) + "\n"


def _mermaid_style(name: str) -> str:
    kind, _sep, missing = name.partition("_")
    dash = ",stroke-dasharray:5 4" if missing or kind == "missing" else ""
    if kind == "legend":
        return "fill:#ffffff,stroke:#ffffff,color:#5f6b7a"
    if kind in CHANGE:
        dash = ",stroke-dasharray:5 4" if kind == "removed" else dash
        return f"fill:#ffffff,stroke:{CHANGE[kind][1]},stroke-width:3px,color:#1f2933{dash}"
    if kind in STATUS:
        stroke, fill, text = STATUS[kind]
        return f"fill:{fill},stroke:{stroke},stroke-width:3px,color:{text}{dash}"
    return f"fill:{SHAPES[kind][3]},stroke:{INK},color:#1f2933{dash}"

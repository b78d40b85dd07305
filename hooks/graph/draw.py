"""``graph``: the trust chain as a picture, in Mermaid (renders in GitHub) or Graphviz DOT.

One ``check`` run colours the graph that ``hooks/graph/model.py`` builds: a node or edge whose
YAML holds a finding is drawn red (an error: the link is broken) or amber (a warning), with the
rule IDs on it, so ``capa-accounts explain`` is one step away. Output is deterministic: boxes in
accounts.yaml order (then by AWS account ID), nodes and edges sorted, IDs derived from names.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from capa_accounts.core import filewrite
from capa_accounts.core.aws import DEFAULT_NAME_SUFFIX
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import engine
from capa_accounts.hooks.graph.model import (
    ASSUME_ROLE,
    MANAGEMENT,
    PRINCIPAL,
    Edge,
    Graph,
    Marked,
    Node,
    Span,
    build,
)

FORMATS = ("mermaid", "dot")
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


def draw(
    repo: Path,
    fmt: str,
    *,
    accounts: Iterable[str] = (),
    errors_only: bool = False,
    limit: bool = True,
    base_ref: str | None = None,
) -> str:
    """The trust graph of ``repo`` in ``fmt`` (``mermaid`` or ``dot``): only the accounts
    named, only the broken links with ``errors_only``; Mermaid text that Mermaid would not
    draw is refused (``limit``), with the way out."""
    from capa_accounts.hooks.graph.select import refuse_oversized_mermaid, select

    if fmt not in FORMATS:
        raise InputError(f"unknown graph format {fmt!r}: use one of {', '.join(FORMATS)}")
    if base_ref is not None:
        return _draw_change(repo, fmt, base_ref, accounts, errors_only)
    # As for check (engine._without_cycle_collector): the graph holds no cycles, and with
    # every document alive the collector's runs cost a sixth of the graph at 1,000 accounts.
    with engine._without_cycle_collector():
        report, ctx = engine.check_context(repo)
        graph = build(ctx)
        mark(graph, report.findings)
        place(graph)
        graph = select(graph, accounts, errors_only)
        text = dot(graph) if fmt == "dot" else mermaid(graph)
    if fmt == "dot":
        return text
    if limit:
        refuse_oversized_mermaid(text, len(graph.edges))
    return text


def _draw_change(
    repo: Path, fmt: str, base_ref: str, accounts: Iterable[str], errors_only: bool
) -> str:
    """Only what the change since ``base_ref`` touches (hooks/graph/change.py); Mermaid text
    is cut to GitHub's limits by account, never refused."""
    from capa_accounts.hooks.check.context import Context
    from capa_accounts.hooks.git.base import load_ref
    from capa_accounts.hooks.graph.change import diff, fit
    from capa_accounts.hooks.graph.select import select

    with engine._without_cycle_collector():
        report, ctx = engine.check_context(repo)
        head = build(ctx)
        mark(head, report.findings)
        place(head)
        base = build(Context(load_ref(repo, base_ref), None))  # REF as check --base reads it
        place(base)
        graph = select(diff(base, head), accounts, errors_only)
        graph.compared = base_ref
        if fmt == "dot":
            return dot(graph)
        return mermaid(fit(graph, mermaid))


def mark(graph: Graph, findings: Iterable[Finding]) -> None:
    """Put each finding on what it is about: the nodes and edges whose YAML holds its line.

    CAPA-T003 (a target's trust) and T004 (the management grant) are written in the bootstrap
    stacks, but what they break is the AssumeRole from the principal to a role: that edge.
    Spans are looked up by file first, so a finding costs what its own file holds, not the
    whole fleet (and only the files with findings have their lines found, graph_model.Span).
    """
    in_file: dict[str, list[Marked]] = defaultdict(list)
    for item in (*graph.nodes.values(), *graph.edges.values()):
        for file in dict.fromkeys(s.file for s in item.spans):
            in_file[file].append(item)
    stacks_in: dict[str, list[tuple[Span, list[str]]]] = defaultdict(list)
    for span, roles in graph.trust_stacks:
        stacks_in[span.file].append((span, roles))
    for finding in findings:
        hit: list[Marked] = []
        if finding.rule == "CAPA-T003":
            for span, roles in stacks_in.get(finding.file, ()):
                if span.holds(finding.file, finding.line):
                    hit += [e for r in roles if (e := graph.edges.get((PRINCIPAL, r, ASSUME_ROLE)))]
        elif finding.rule == "CAPA-T004":
            for loc in finding.related:
                for line, role in graph.role_at.get(loc.file, ()):
                    edge = graph.edges.get((PRINCIPAL, role, ASSUME_ROLE))
                    if edge is not None and line() == loc.line:
                        hit.append(edge)
        if not hit:
            hit = [
                m
                for m in in_file.get(finding.file, ())
                if any(s.holds(finding.file, finding.line) for s in m.spans)
            ]
        for item in hit:
            item.mark(finding)
        graph.undrawn += not hit


# --- layout shared by both formats ------------------------------------------------------------


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


# --- Mermaid ----------------------------------------------------------------------------------


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


# --- Graphviz DOT -----------------------------------------------------------------------------


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


# --- the documentation's example ----------------------------------------------------------------

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "kustomize_plugin" / "example"
# The picture the documentation shows (docs/commands.md, "The trust graph").
SVG = PROJECT / "docs" / "assets" / "trust-graph.svg"


def write_example(target: Path = EXAMPLE, svg: Path = SVG) -> list[Path]:
    """Redraw the example repository's graph: trust-graph.mmd and .dot, and the documentation's
    .svg when Graphviz is installed (CI compares only the sources)."""
    from capa_accounts.kustomize_plugin import example

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        example.init(repo)
        texts = {"trust-graph.mmd": draw(repo, "mermaid"), "trust-graph.dot": draw(repo, "dot")}
    graphviz = shutil.which("dot")
    if graphviz:
        texts["trust-graph.svg"] = subprocess.run(
            [graphviz, "-Tsvg"],
            input=texts["trust-graph.dot"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    paths = {name: svg if name == "trust-graph.svg" else target / name for name in texts}
    for name, text in texts.items():
        filewrite.atomic_write(paths[name], text)
    return list(paths.values())


if __name__ == "__main__":
    if sys.argv[1:] != ["--example"]:
        sys.exit(
            "usage: python -m capa_accounts.hooks.graph.draw --example   (redraws "
            "kustomize_plugin/example/trust-graph.* and docs/assets/trust-graph.svg)"
        )
    written = write_example()
    for path in written:
        print(f"wrote {path.relative_to(PROJECT)}")
    if len(written) < 3:
        print("trust-graph.svg not redrawn: install Graphviz (its `dot`)", file=sys.stderr)

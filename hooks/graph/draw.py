"""``graph``: the trust chain as a picture, in Mermaid (renders in GitHub) or Graphviz DOT.

One ``check`` run colours the graph that ``hooks/graph/build.py`` builds: a node or edge whose
YAML holds a finding is drawn red (an error: the link is broken) or amber (a warning), with the
rule IDs on it, so ``capa-accounts explain`` is one step away. Output is deterministic: boxes in
accounts.yaml order (then by AWS account ID), nodes and edges sorted, IDs derived from names.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from capa_accounts.core import filewrite
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding
from capa_accounts.hooks.check import engine
from capa_accounts.hooks.graph.build import build
from capa_accounts.hooks.graph.dot import dot
from capa_accounts.hooks.graph.layout import place
from capa_accounts.hooks.graph.mermaid import mermaid
from capa_accounts.hooks.graph.model import (
    ASSUME_ROLE,
    PRINCIPAL,
    Graph,
    Marked,
    Span,
)

FORMATS = ("mermaid", "dot")


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
        # REF as check --base reads it, what it shares with the work tree read once.
        base = build(Context(load_ref(repo, base_ref, shared=ctx.loaded), None))
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

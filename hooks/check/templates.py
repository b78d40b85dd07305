"""Findings at their root cause: the template in ``base/`` that render copied into every overlay.

With accounts.yaml, ``base/`` is not applied (render instantiates it per account), so a typo in
it reaches the judged objects once per overlay: N copies of one CAPA-R004, and none at the line
to edit. This pass judges ``base/`` itself with the same schema and reports each R004 once at
the template, the overlay copies as related locations (SARIF relatedLocations) and counted in
the message. A dangerous template value that render overwrites in every account (such as
``allowedNamespaces: {}``) reaches no overlay, so no rule would see it: it is reported at the
template as a warning that says render overwrites it (``kustomize build base``, a preview, or
a copy of the template as a hand-written overlay would keep it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from capa_accounts.core import layout
from capa_accounts.core.errors import InputError
from capa_accounts.core.finding import Finding, Location
from capa_accounts.core.kustomization import NeedsKustomize, build
from capa_accounts.hooks.check.context import Context
from capa_accounts.hooks.check.repository import Loaded, Source
from capa_accounts.hooks.rules import Reporter, all_rules

BASE = layout.BASE
# Rules whose field render sets on every account's copy of the template (transform.py:
# allowedNamespaces of the role identity, identityRef of the control plane).
OVERWRITTEN = ("CAPA-I001", "CAPA-I002", "CAPA-I003", "CAPA-I004", "CAPA-C004")


def root_causes(ctx: Context, findings: list[Finding], schema: Any) -> list[Finding]:
    if ctx.account_set is None or not (ctx.root / BASE).is_dir():
        return findings
    try:
        built = build(ctx.root, ctx.root / BASE)
    except (NeedsKustomize, InputError):
        return findings  # base/ is judged only where render could read it
    loaded = Loaded(ctx.root, None, documents=[(d, Source(BASE)) for d in built.documents])
    base = Context(loaded, schema)
    rules = all_rules()
    out = list(findings)
    # One R004 per template violation; overlay copies (same kind, same message) fold into it.
    reporter = Reporter("CAPA-R004", "error", base)
    rules["CAPA-R004"].check(base, reporter)
    copies: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.rule == "CAPA-R004" and f.resource is not None and _in_overlay(ctx, f.file):
            copies[(f.resource.kind, f.message)].append(f)
    folded: set[int] = set()
    for f in reporter.findings:
        kind = f.resource.kind if f.resource else ""
        same = copies.get((kind, f.message), [])
        folded.update(id(c) for c in same)
        overlays = sorted({c.file.split("/")[1] for c in same})
        if same:
            note = (
                f" (in the template: render copies it into {len(same)} file(s) of "
                f"{len(overlays)} overlay(s): {', '.join(overlays)})"
            )
        else:
            note = (
                " (in the template only: render overwrites this field for every account, "
                "so no overlay has it; `kustomize build base` does)"
            )
        out.append(
            f.replace(
                message=f.message + note,
                severity="error" if same else "warning",
                related=tuple(Location(c.file, c.line, c.column) for c in same),
            )
        )
    out = [f for f in out if id(f) not in folded]
    # Values render overwrites: a warning at the template, saying so.
    for rule_id in OVERWRITTEN:
        reporter = Reporter(rule_id, "warning", base)
        rules[rule_id].check(base, reporter)
        out.extend(
            f.replace(
                severity="warning",
                message=f"{f.message} (in the template: "
                "render overwrites this field for every account, so no overlay "
                "has it; `kustomize build base` and copies of the template do)",
            )
            for f in reporter.findings
        )
    return out


def _in_overlay(ctx: Context, file: str) -> bool:
    parts = file.split("/")
    return len(parts) > 2 and f"{parts[0]}/{parts[1]}" in ctx.accounts_by_overlay
